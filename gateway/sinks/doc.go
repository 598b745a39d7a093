// Package sinks delivers journaled events to destinations besides the uplink, each by its own cursor.
//
// A Sink is one destination (a file, a database, a webhook): it is handed
// one event at a time, or a batch (BatchSink), and says whether the
// destination accepted it. A Runner
// drives one sink: it reads the sink's streams through a named journal
// consumer (journal.Consumer), so each sink has its own cursor, backlog and
// delivery state, and a sink that is down holds back only itself. A record
// leaves the journal for a sink only once the sink accepted it; a record the
// sink can never accept (Permanent) goes to the dead-letter stream with an
// alarm, never silently skipped and never blocking the sink for ever.
//
// # Batches
//
// A sink that can take several events at once (one HTTP request, one
// database transaction) implements BatchSink as well. Each stream's runner
// then waits for one record and tops the batch up with what the journal
// already holds (journal.Reader.TryNext), up to MaxBatch, never waiting to
// fill it: when events trickle in, each goes alone at once; under load or
// after an outage, a batch is a group commit's worth or a full backlog
// page. Order within a stream is kept: DeliverBatch gets the events in
// stream order and says how many leading ones the destination accepted;
// the journal is acknowledged for exactly those, and the first one not
// accepted is dead-lettered (its error wraps ErrPermanent) or retried with
// everything after it (any other error). A destination that answers per
// event (a platform taking 200 records and refusing the 57th) returns a
// *BatchError, one result per event: the accepted ones are acknowledged,
// the refused ones dead-lettered, and only the failed ones offered again,
// in order. A sink whose destination deduplicates (an idempotency key, a
// primary key) loses nothing by a retry that resends an accepted event; one
// that does not should answer per event.
//
// # Retry delays
//
// A failed delivery is retried after a jittered exponential backoff
// (Options.BackoffMin…BackoffMax). An error made by RetryAfter(err, d)
// (an HTTP 429 or 503 with Retry-After, a platform's rate-limit code) is
// not retried before d, capped at Options.RetryAfterMax so a server cannot
// stall a sink for a day.
//
// Adding a kind of sink is one package and one line: a package under
// gateway/sinks with a type implementing Sink (and Closer if it holds
// resources) and a func(Settings) (Sink, error) that rejects unknown keys
// with Settings.Only, then that func in the table of gateway/sinks/all.
// [[sinks]] entries of that kind then run in the daemon's sinks stage, with
// their own cursor, metrics (sink label) and dead letters. The MQTT uplink
// is the first sink: a Runner drives it from the journal's primary cursors
// (Options.Primary) as a WindowSink, a window of publishes awaiting their
// PUBACKs (window.go), which Deliver, even in batches, would not allow; it
// reports in the same metric families as sink "mqtt".
//
// # Held records
//
// A platform sink (DingTalk, WeCom, Feishu) needs the person's user id on
// its platform, from the person directory (provisioning/people). When the
// directory has none, the sink returns Unmapped(person, platform) (an error
// wrapping ErrUnmapped): the record is neither sent with a guessed id nor
// dead-lettered, it is held. The runner writes it to the sink's held file
// (Options.HeldDir, HeldFile: "<dir>/<sink>.held") before its cursor moves
// on, so other people's punches flow; it counts the sink's held records
// (HeldMetrics: officegate_sink_held), logs it, and raises HoldAlarm for a
// person's first held record (once per person while any of theirs is held).
// At start and whenever Options.Retry signals (the daemon connects it to
// people.Directory.Watch) it offers every held record to the sink again,
// oldest first: delivered ones leave the list; still unmapped ones stay; a
// sink that is down is retried with backoff. A held record therefore
// arrives after later records of other people, and, if the mapping arrives
// while that person keeps punching, possibly after their own later ones:
// each record carries its own time and id.
//
// The held file is a header line "officegate-held 1 <length> <sha256>" and
// a JSON list of Held records (the journaled body in base64), replaced
// whole on every change (internal/atomicfile); a damaged file stops the
// sink from starting rather than forget what it held. A sink holds at most
// MaxHeld records; past that, an unmapped record waits like a record of a
// sink that is down (the sink's backlog grows, visibly). Without HeldDir an
// unmapped record always waits so.
package sinks
