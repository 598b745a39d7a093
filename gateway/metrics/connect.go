package metrics

// ConnectCounters are officegate connect's intake counters (gateway/connect).
type ConnectCounters struct {
	Received  func() // a message for the sinks taken from the backbone
	Duplicate func() // one of them already journaled (dropped: its id was seen)
	Reordered func() // one journaled after a later event of its device
	// Active tells whether this replica takes messages from the backbone
	// (the lease holder, when the replicas elect one).
	Active   func(bool)
	Takeover func() // this replica became the active one
}

// WatchConnect registers connect's counters and returns them; once per
// Metrics.
func (m *Metrics) WatchConnect() (ConnectCounters, error) {
	recv := newScalar(typeCounter, fqName("connect", "received_total"), "Messages for the sinks taken from the backbone, duplicates included.")
	dup := newScalar(typeCounter, fqName("connect", "duplicates_total"), "Messages taken from the backbone whose event id was already journaled (within the dedup window): acknowledged and dropped.")
	reord := newScalar(typeCounter, fqName("connect", "reordered_total"), "Events journaled after a later event of the same device (a backbone redelivery): delivered, out of device order.")
	active := newScalar(typeGauge, fqName("connect", "active"), "1 while this replica takes messages from the backbone (with replicas = \"standby\": while it holds the lease), else 0.")
	takeovers := newScalar(typeCounter, fqName("connect", "takeovers_total"), "Times this replica became the active one (took the lease), its first included.")
	for _, s := range []*scalar{recv, dup, reord, active, takeovers} {
		if err := m.reg.register(s, s.name); err != nil {
			return ConnectCounters{}, err
		}
	}
	return ConnectCounters{Received: recv.inc, Duplicate: dup.inc, Reordered: reord.inc, Takeover: takeovers.inc,
		Active: func(on bool) {
			if on {
				active.set(1)
			} else {
				active.set(0)
			}
		}}, nil
}
