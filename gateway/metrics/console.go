package metrics

// ConsoleCounters are the web console's login counters (gateway/console).
type ConsoleCounters struct {
	LoginFailed func() // a login refused for a wrong name or password
	Lockout     func() // a name or an address locked out
}

// WatchConsole registers the console's counters and returns them; once
// per Metrics.
func (m *Metrics) WatchConsole() (ConsoleCounters, error) {
	failed := newScalar(typeCounter, fqName("console", "login_failures_total"), "Console logins refused for a wrong user name or password.")
	locked := newScalar(typeCounter, fqName("console", "lockouts_total"), "Console user names and addresses locked out after repeated failed logins.")
	if err := m.reg.register(failed, failed.name); err != nil {
		return ConsoleCounters{}, err
	}
	if err := m.reg.register(locked, locked.name); err != nil {
		return ConsoleCounters{}, err
	}
	return ConsoleCounters{LoginFailed: failed.inc, Lockout: locked.inc}, nil
}
