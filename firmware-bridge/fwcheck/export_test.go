package fwcheck

// SetFirstTimed sets the hook called when the retransmission check has
// stamped its first frame, until the test ends.
func SetFirstTimed(cleanup func(func()), f func()) {
	firstTimed = f
	cleanup(func() { firstTimed = nil })
}
