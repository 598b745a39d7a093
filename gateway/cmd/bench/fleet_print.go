package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func printFleet(w io.Writer, r fleetResult) {
	fmt.Fprintf(w, "%d gateways × %d devices → 3-node NATS cluster (JetStream R3, MQTT listener) → $MQTT_msgs (MQTT) or OFFICEGATE (JetStream) → consumer\n"+
		"saturated: %d events per publisher (payload %d B), window %d per gateway; paced: %.0f events/s offered\n\n",
		r.Gateways, r.Devices, r.EventsPerPhase, r.PayloadBytes, r.Inflight, r.Rate)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "publisher\tpublished/s\tstored/s\tdelivered/s\tCPU µs/event\tcluster CPU µs/event\tp50 ms\tp99 ms\tmax ms\tduplicates\t")
	for _, p := range r.Paths {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", fleetPathNames[p.Path],
			p.PublishedPerS, p.StoredPerS, p.DeliveredPerS, p.CPUUs, p.ClusterCPUUs, p.P50Ms, p.P99Ms, p.MaxMs, p.Duplicates)
	}
	tw.Flush()
	fmt.Fprintf(w, "\npublished: acknowledged to the publishers (PUBACK; JetStream PubAck). stored: the stream's last sequence\n"+
		"reached the phase's last event (sampled every %v). delivered: every event out of the stream to a\n"+
		"consumer. CPU: the publisher process's own, per event (officegate: journal append + uplink); cluster CPU:\n"+
		"the three nats-server processes' together, per event, over the phase (on one machine: the nodes' share of it).\n"+
		"Latency: the event's due time → the consumer, at the paced rate.\n", seqPollEvery)
	if c := r.Connect; c != nil {
		fmt.Fprintf(w, "\nofficegate connect, one replica, the MQTT publishers' events in $MQTT_msgs → PostgreSQL (fsync on, %d rows a transaction, fetches of %d):\n"+
			"  %d events, %.0f events/s, %.1f µs of its CPU per event\n", c.PGBatch, c.FetchBatch, c.Events, c.PerS, c.CPUUs)
	}
	if r.Stream.Messages > 0 {
		fmt.Fprintf(w, "OFFICEGATE stream: %d messages, %d bytes on each node (%.0f B per message)\n", r.Stream.Messages, r.Stream.Bytes, r.Stream.BytesPerEv)
	}
}
