// Package fleet holds the fleet test: many gateways, a NATS backbone, connect replicas and kills.
//
// It has no code of its own, only TestFleet (fleet_test.go), which runs a
// company of many floors on one machine, every part a real process:
//
//   - a 3-node NATS cluster with JetStream and its MQTT listener
//     (internal/natstest, the configuration docs/nats recommends);
//   - 8 gateways, each the officegate binary (built once, in TestMain)
//     with its own configuration and journal, 3 emulated attendance
//     terminals on PTYs (firmware-bridge/fwemu) and [mqtt] urls listing
//     the three nodes, each gateway starting on another;
//   - 2 officegate connect replicas, fed from the cluster, writing into
//     one PostgreSQL (internal/pgtest) through the postgres sink.
//
// The terminals, in the test process, record punches at a known rate
// (every device one every tick) into their flash-like stores and
// attendance logs, whatever the gateways are doing. Meanwhile the test
// kills with SIGKILL the node leading the stream connect reads ($MQTT_msgs;
// and starts it again), the connect replica that fetches (the lease's
// holder, gateway/connect; and starts it again) and two gateways (and
// starts them again: their terminals kept what the gateway had not
// acknowledged).
//
// Then the devices stop and the test waits until PostgreSQL holds as many
// punches as the devices recorded, and checks, against each terminal's own
// attendance log (what the device reported, not what a gateway says it
// got):
//
//   - exactly once: each punch of each device is one row (gateway,
//     device, boot, seq), none missing, none twice, none a device did not
//     record; no device's store overflowed;
//   - per-device order: a device's rows in the order the sink inserted
//     them (events.insert_seq, gateway/sinks/postgres "Insertion order")
//     have strictly increasing (boot, seq): the device's order.
//
// A failure names the assertion, the counts, each device's first missing
// or misplaced events and when the device recorded them against the
// kills' times, and the tails of the processes' logs.
//
// Child processes die with the test process (Pdeathsig). The test needs
// nats-server (2.10 or later) and PostgreSQL: without them it is skipped,
// and fails under CI=true. It is skipped under -short.
package fleet
