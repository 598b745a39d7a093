package metrics

// ConnectCounters are officegate connect's intake counters (gateway/connect).
type ConnectCounters struct {
	Received  func() // a message for the sinks taken from the backbone
	Duplicate func() // one of them already journaled (dropped: its id was seen)
	Reordered func() // one journaled after a later event of its device
}

// WatchConnect registers connect's counters and returns them; once per
// Metrics.
func (m *Metrics) WatchConnect() (ConnectCounters, error) {
	recv := newScalar(typeCounter, fqName("connect", "received_total"), "Messages for the sinks taken from the backbone, duplicates included.")
	dup := newScalar(typeCounter, fqName("connect", "duplicates_total"), "Messages taken from the backbone whose event id was already journaled (within the dedup window): acknowledged and dropped.")
	reord := newScalar(typeCounter, fqName("connect", "reordered_total"), "Events journaled after a later event of the same device (a backbone redelivery): delivered, out of device order.")
	for _, s := range []*scalar{recv, dup, reord} {
		if err := m.reg.register(s, s.name); err != nil {
			return ConnectCounters{}, err
		}
	}
	return ConnectCounters{Received: recv.inc, Duplicate: dup.inc, Reordered: reord.inc}, nil
}
