// Package sinks delivers journaled events to destinations besides the uplink, each by its own cursor.
//
// A Sink is one destination (a file, a database, a webhook): it is handed
// one event at a time and says whether the destination accepted it. A Runner
// drives one sink: it reads the sink's streams through a named journal
// consumer (journal.Consumer), so each sink has its own cursor, backlog and
// delivery state, and a sink that is down holds back only itself. A record
// leaves the journal for a sink only once the sink accepted it; a record the
// sink can never accept (Permanent) goes to the dead-letter stream with an
// alarm, never silently skipped and never blocking the sink for ever.
//
// Adding a kind of sink is one package and one line: a package under
// gateway/sinks with a type implementing Sink (and Closer if it holds
// resources) and a func(Settings) (Sink, error) that rejects unknown keys
// with Settings.Only, then that func in the table of gateway/sinks/all.
// [[sinks]] entries of that kind then run in the daemon's sinks stage, with
// their own cursor, metrics (sink label) and dead letters. The MQTT uplink
// is the journal's primary consumer and reports in the same metric families
// as sink "mqtt"; it keeps its own pipelined publisher (a window of
// publishes awaiting PUBACKs), which one-at-a-time Deliver would not allow.
package sinks
