package metrics

// CommandUnreadable counts a command that could not be answered (it has no
// readable id, or its topic names no valid command): pass it as
// commands.Options.OnMalformed.
func (m *Metrics) CommandUnreadable() { m.unreadable.inc() }
