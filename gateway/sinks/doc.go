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
package sinks
