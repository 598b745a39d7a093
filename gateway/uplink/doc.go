// Package uplink owns the gateway's MQTT connection. It publishes what the
// journal holds at QoS 1 and acknowledges each record to the journal only on
// the broker's PUBACK for that exact message, keeps the retained gateway and
// device status right across reconnects, and hands inbound commands to the
// gateway.
//
// The uplink is the journal's first sink (sink.go): a sinks.Runner reads the
// streams from the journal's primary cursors and drives it as a
// sinks.WindowSink, Options.Inflight publishes in flight; a record that can
// never be published is dead-lettered like any sink's.
//
// paho's auto-reconnect is off (with it on, a publish token can complete without
// a PUBACK, a known paho trap): a supervisor builds a fresh client
// for every connection, with jittered exponential backoff, and a publish
// that fails makes the runner replay every stream from its delivered cursor. Sessions are clean: pending
// publish tokens then fail when the connection drops, which is the honest
// signal, and subscriptions are made again on every connect.
//
// Failover: given several URLs of one broker cluster (Options.Brokers, the
// nodes of the NATS backbone in docs/nats), every failed attempt and every
// lost session moves to the next URL, after the same jittered backoff. The
// new session is like any other: it publishes the retained gateway status,
// every device status and the enrollment message on the node it reached,
// and replays each stream in order from its delivered cursor, so a record
// whose PUBACK the dead node never sent is published again (the same id: the
// consumer deduplicates) and none is skipped or reordered.
package uplink
