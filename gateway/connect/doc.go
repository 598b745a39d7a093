// Package connect runs the gateway's sinks centrally, fed from the backbone (officegate connect).
//
// officegate connect takes the contract's event envelopes and command
// results (gateway/MQTT.md) from the backbone every gateway publishes to,
// either natively from a JetStream stream (JetStream) or from an MQTT
// broker (MQTT), and delivers them to the same sinks a gateway runs
// (gateway/sinks: PostgreSQL, webhook, DingTalk, WeCom, Feishu, file) with
// the same runners, cursors, metrics, dead letters, held records and CLI.
//
// # Local journal
//
// A message taken from the backbone is appended to a local journal
// (gateway/journal, in the state directory's "journal") in the stream a
// gateway would have journaled it in (intake.StreamFor: attendance,
// visitors, rooms, control, results, diag), as a Record: the topic and the
// payload exactly as published, with the id, device, type, gateway, boot
// and seq read from it. A CBOR payload (mqtt.format = "cbor") is turned
// into JSON, the form every sink reads. A message that cannot be read (no
// id, not an envelope, an envelope whose device is not its topic's) is
// journaled with the reason, and the sinks dead-letter it: visible and
// replayable, never dropped. Each sink reads the journal through its own
// consumer (sinks.Runner with Options.Decode = Decode) exactly as in a
// gateway.
//
// # Acknowledgement
//
// A message is acknowledged to the backbone only once every sink reading
// its stream has passed its record (the sink's journal cursor is at or
// beyond it: delivered, dead-lettered, or held for an unmapped person)
// (settle.go). Until then connect keeps it with the backbone (a JetStream
// InProgress every AckWait/3), so the backbone gives it to another
// replica only if this one dies or loses the lease ("Order"). A connect killed at any point loses
// nothing: what it had not finished comes back after AckWait, to it or to
// another replica. A message no sink reads (a stream no sink lists) is
// acknowledged at once, unjournaled. A duplicate (below) of a record still
// waiting for the sinks is acknowledged with it; any other duplicate at
// once.
//
// The local journal holds the records a replica has taken and not yet
// delivered; its state directory must be durable storage, as a gateway's
// journal is. A replica that dies with records there delivers them when it
// comes back, after another replica delivered them too (their messages
// came back to it): the destinations' own keys (PostgreSQL's primary key,
// a webhook's Idempotency-Key) absorb that, as they absorb a gateway
// sink's retry.
//
// # Deduplication
//
// A gateway republishes what the broker did not acknowledge (a lost
// PUBACK, a failover), and the backbone redelivers what connect did not
// acknowledge: the same event can arrive many times, days apart. Each
// message has a key (Key: SHA-256 of the event id, or of the gateway and
// command id for a result, first 16 bytes). A message whose key was
// recorded within the dedup window (DefaultDedupWindow: the outage the
// backbone is sized for) is a duplicate: acknowledged and dropped
// (officegate_connect_duplicates_total). Keys are kept on disk in the
// state directory's "dedup": one file per hour of 16-byte keys, appended
// and fsync'd after the journal's commit (Dedup); a
// file older than the window is deleted whole. A kill between the commit
// and the key's write leaves a journaled record without its key: at start,
// connect records the key of every record still in its journal. So each
// event enters the local journal once, and so reaches each sink once (a
// sink's own retries are deduplicated by its destination, as in a
// gateway). With several replicas, each has its own journal and dedup
// store: a duplicate that reaches two replicas (the gateway published an
// event twice and each replica took one copy, or a replica died) is
// delivered by both, and the destination's key absorbs it.
//
// # Order
//
// A gateway publishes each device's events in order; the backbone keeps
// that order, except for a redelivery: JetStream gives a message that was
// not acknowledged in time (its replica died, or was slower than AckWait,
// or the batch holding it was lost on its way when the node leading the
// consumer died: the new leader gives it again after AckWait) again after
// later ones. Connect journals in the order it takes messages,
// and the sinks deliver each stream in journal order, so the order a sink
// sees is the order connect took them in. Five rules keep that the
// device's order:
//
//   - one replica fetches at a time (JetStream.Shared false, the default):
//     the holder of a lease, below; the others stand by;
//   - a replica takes a fetched batch whole and in stream order;
//   - at start, and when a replica takes the lease over, if the consumer
//     has messages handed out and not acknowledged (this replica's before
//     it was killed, or the previous holder's), it gathers what it fetches
//     without journaling it until every pending message past the ack floor
//     is in its hands (or two AckWaits have passed), then takes it all
//     sorted by stream sequence;
//   - while it holds the lease, a fetched batch whose delivery sequences
//     (the consumer's count of its deliveries) skip some is not journaled:
//     the skipped deliveries went to no other replica, so they were lost
//     on their way (the node leading the consumer died) and come back
//     after AckWait; the replica gathers as at start, until every pending
//     message is in its hands or journaled and waiting for the sinks
//     (TestLostBatchGathered);
//   - an event journaled after a later event of its device (by boot, then
//     seq) is counted (officegate_connect_reordered_total) and logged: it is
//     delivered, never dropped.
//
// The lease (lease.go) is a key of the JetStream key-value bucket
// LeaseBucket, one per stream and consumer, created by connect when
// missing with the stream's replicas and a max age of the lease's TTL
// (JetStream.LeaseTTL, default 10 s; the bucket's max age rules once it
// exists). A replica creates the key (Create: it fails while the key
// exists) and is then the holder: it rewrites the key every TTL/4 with a
// revision-checked Update, and counts on the lease for 5/8 of the TTL
// after the start of its last successful write. It fetches only while
// the lease surely outlasts the fetch's wait (at most TTL/8): a fetch has
// ended at the cluster a quarter of the TTL before the key can expire
// there. An Update that finds another revision (the key expired, or
// another replica created it) ends the lease at once; a holder that
// cannot write (a leader election) stops fetching when its 5/8 run out
// and goes on when a write succeeds at its revision. A holder that is no
// longer sure of the lease acknowledges nothing and keeps nothing with the
// backbone, and gives back (Nak) what it fetched and has not journaled:
// everything it has not acknowledged comes back to the next holder, whose
// gathering at takeover takes it first, in stream order. The standbys try
// to create the key every TTL/4, and at once when a holder releases it (a
// clean stop deletes it; a watch on the key sees that); a dead holder's
// key expires TTL after its last write. So a standby takes over within
// about 1.25 TTL of the holder's death, and the dead holder's messages
// come back to it AckWait after the holder last kept them.
//
// Why the order holds across a takeover: the new holder's first records
// are the lowest messages not acknowledged; every lower message was
// acknowledged, so delivered by every sink of the replica that held it.
// A replica that lost the lease (or comes back with records in its
// journal) may still deliver records another replica delivers too, but
// each replica delivers a device's records in its order: a destination
// that keeps an event's first delivery (PostgreSQL's primary key, a
// webhook receiver deduplicating by Idempotency-Key) has each device's
// events in order. A destination without a key (the file sink) can get
// such a record twice, the second one late.
//
// With JetStream.Shared (connect.jetstream.replicas = "shared"), every
// replica fetches: they share the load, and two replicas can hold events
// of the same device at once and their sinks deliver them concurrently: a
// device's records then reach a destination in the order of the replicas'
// commits, not the device's. Every record carries its device's boot and
// seq (PostgreSQL's events.boot and events.seq) and its time; order by
// those.
//
// The trade: standby delivers each device's events in order and carries
// the whole company's rate on one replica; shared carries more than one
// replica's rate and gives up the order. Standby is the default because
// one replica carries the sizing: an active replica into PostgreSQL took
// 3 300 - 7 000 events/s on the test VM, bounded by the database's commit
// rate rather than by connect's CPU (about 55 µs an event), against about
// 1 400 events/s at the 9:00 rush of 1 000 gateways × 64 devices
// (docs/SCALING.md, "Connect replicas"). Shared is for a catch-up whose
// destinations need no delivery order; several replicas into one
// PostgreSQL share its commit rate too.
//
// Load sharing that keeps each device's order would need partitioned
// consumers: the gateways split into N fixed sets, a durable consumer per
// set filtered to its gateways' subjects, and a lease per consumer, so
// that each device's events go through one active replica while N
// replicas deliver at once. It is not built: one replica carries the
// sizing, replicas into one database share its commit rate, and the
// partitions would be an assignment of gateways to keep in every
// replica's file and to change (with the order kept across the move) as
// gateways come and go. A second connect deployment with its own
// consumer and its own destinations (docs/SCALING.md) already divides the
// load by destination, each in order.
//
// # JetStream
//
// The stream read is $MQTT_msgs (MQTTStream), not a stream of the
// contract's own subjects: nats-server's MQTT listener stores each QoS 1
// message there, under "$MQTT.msgs." + its subject, and sends the
// publisher's PUBACK only once that store succeeded (nats-server v2.10.24,
// server/mqtt.go, mqttProcessPub and mqttInitiateMsgDelivery); a stream
// capturing the subjects (OFFICEGATE) takes the same message from a plain
// NATS publish made before that store, not tied to the PUBACK, and missed
// PUBACKed messages when its leader's node was killed (docs/nats/README.md).
// The server creates $MQTT_msgs with interest retention: a message stays
// until every consumer interested in it acknowledged it, so connect's
// durable consumer keeps every PUBACKed message of the contract until
// connect acknowledges it, and nothing published before the consumer
// exists is kept for it: create it with the cluster
// (docs/nats/connect-consumer.json, the consumer ConsumerConfig makes).
// connect creates it if it is missing, and binds to it if it exists. A
// message's data is the published payload byte for byte (the listener's
// Nmqtt-Pub header, the QoS, is a NATS header). Nothing in the stream
// ages out: what waits for connect is bounded by the stream's max_bytes
// with discard new, set at the cluster's set-up (docs/nats, "Sizing"): a
// full stream refuses new messages (no PUBACK, the gateways keep them)
// rather than dropping stored ones. TestStreamLeaderKilled kills the node
// leading the stream and the consumer under load: every PUBACKed event
// reaches the sinks once, in its device's order. JetStream.Stream names
// another stream instead (OFFICEGATE, docs/nats): right for messages
// published natively with JetStream, which that stream acknowledges
// itself, not for the gateways' MQTT messages.
//
// One durable pull consumer (Consumer) on the stream, with explicit acks,
// filtered to the sinks' subjects (JetStream.Filters), the same for every
// replica: the lease's holder fetches from it (or, shared, each fetch
// hands a batch to one replica), and a replica that dies leaves its
// unacknowledged messages to be handed to the next fetcher after
// AckWait (default 30 s: far above a batch's journaling time, a few ms,
// and short enough that a dead replica's share is taken over quickly).
// MaxAckPending (default 4096) bounds what the replicas hold unacknowledged
// together: 16 batches of 256.
//
// # Person directory
//
// The platform sinks (DingTalk, WeCom, Feishu) map a punch's person to the
// platform's user id through a person directory (provisioning/people):
// connect's own, in the state directory's "people". Its admin socket
// serves the people routes next to the sinks' (admin.ServeCentral, the
// same operations as a gateway's socket), so officegate people
// import|list|show|remove|forget --socket PATH manage it; forget also
// drops the sinks' held records of the person. A punch of a person the
// directory does not map is held for that sink (gateway/sinks, "Held
// records"; it counts as passed for the acknowledgement) and delivered
// when a change of the directory maps them (each runner's
// people.Directory.Watch), as in a gateway; the first held record of each
// person raises an alarm ("Alarms"). Connect has no card key: an
// import's card column takes card hashes only. Each replica has its own
// directory.
//
// # Alarms
//
// The sinks raise the alarms a gateway's sinks raise, with the same
// details: a device.alarm (other) on the device of a record a sink can
// never deliver (sinks.DeadLetter.AlarmDetail), and on the device of the
// first held record of each person, once per person while any of theirs
// is held (sinks.Held.AlarmDetail). A gateway journals its alarms and
// publishes them; connect journals each, as an event of the record's
// gateway and device, in its local journal's control stream (alarm.go),
// where the sinks reading that stream deliver it as they deliver the
// gateways' own alarms. With no sink reading control, the log lines and
// the metrics (officegate_sink_dead_lettered_total, officegate_sink_held)
// say it. An alarm is connect's own event: its id comes from its kind, the
// sink and the record's dedup key, so the replicas raising it for the same
// record raise the same event (a destination keeps it once), and it is
// deduplicated across restarts like a message; boot and seq are 0, its
// time connect's clock. The sinks' backlog alarm, which a gateway raises
// on its own device "sinks", has no device in connect: there the metric
// officegate_sink_backlog_alarm and the log line say it.
//
// # MQTT
//
// A persistent session (clean session off, the replica's own client id)
// subscribed at QoS 1 to the sinks' topics (MQTT.Filters), with paho's
// automatic PUBACK off: a message's PUBACK is sent once the sinks have
// passed it, and in the order the messages came, as MQTT 3.1.1 requires
// [MQTT-4.6.0-2] (a PUBACK waits for those before it). A connect killed or
// cut off leaves its unacknowledged messages in the session: the broker
// sends them again, first, when it reconnects [MQTT-4.4.0-1], so the
// device's order holds. Connect owns the reconnection (paho's own is off,
// as in the uplink) and moves to the next URL after a failure.
//
// Replicas on MQTT subscribe through $share/<group>/… (ShareGroup), which
// MQTT 5 defines and mosquitto also accepts from MQTT 3.1.1 clients. Its
// known gaps (docs/nats/README.md cites them) decide where that is safe:
//
//   - mosquitto does not give a QoS 1 message in flight to a member whose
//     connection drops to another member (eclipse-mosquitto/mosquitto#2662,
//     open): it waits in that member's session until the member comes back;
//   - mosquitto queues a message routed to a member that is offline with a
//     persistent session for that member (mosquitto#1747): it is delivered
//     when that replica returns, not by the others;
//   - mosquitto drops QoS 1 messages queued for a session past
//     max_queued_messages (default 1000) and holds max_inflight_messages
//     (default 20) unacknowledged: the broker connect reads from needs
//     max_queued_messages 0 (or room for the longest outage) and a window
//     larger than the sinks' latency times the event rate.
//
// So on mosquitto a replica's share is only late, never lost, while it is
// down, but nobody takes it over: run one replica (ShareGroup unset), or
// several without a group, each deduplicating everything (the destinations'
// keys absorb the double deliveries). Replicas that share the load and take
// over each other's share need the JetStream source.
// TestMQTTShareGroupKilled shows it on mosquitto 2.0.11: two replicas in
// one group each take a part of every device's events (round-robin per
// message, so a device's order is not kept across them); one SIGKILLed
// mid-stream, the other delivers only its own part, and the killed one,
// restarted, delivers what was in flight to it and what mosquitto kept
// routing to its offline session, which no other member got.
package connect
