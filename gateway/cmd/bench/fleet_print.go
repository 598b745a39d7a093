package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
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
	fmt.Fprintf(w, "\nthe sessions, before any load (saturated phase's):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "publisher\tsetup s\tsetup cluster CPU ms/session\tquiet wait s\tidle s\tidle cluster CPU %\tper 1000 sessions %\tRSS KB/session\tnode RSS MB before\tidle\tloaded\tpaced cluster CPU %\tµs/event\tabove idle µs/event\t")
	if b := r.IdleBase; b != nil {
		fmt.Fprintf(tw, "no session\t\t\t%.0f\t%.0f\t%.2f\t\t\t\t%s\t\t\t\t\t\n", b.QuietS, b.IdleS, b.IdleCPUPct, mbList(b.NodeRSSIdleMB))
	}
	for _, p := range r.Paths {
		ss := p.Sessions
		fmt.Fprintf(tw, "%s\t%.2f\t%.3f\t%.0f\t%.0f\t%.2f\t%.2f\t%.1f\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t\n", fleetPathNames[p.Path], ss.SetupS, ss.SetupCPUMs,
			ss.QuietS, ss.IdleS, ss.IdleCPUPct, ss.IdleCPUPerKSess, ss.RSSPerSessKB, mbList(ss.NodeRSSBeforeMB), mbList(ss.NodeRSSIdleMB), mbList(p.NodeRSSMB),
			p.PacedClusterCPUPct, p.PacedClusterCPUUs, p.PacedMarginalUs)
	}
	tw.Flush()
	fmt.Fprintf(w, "\npublished: acknowledged to the publishers (PUBACK; JetStream PubAck). stored: the stream's last sequence\n"+
		"reached the phase's last event (sampled every %v). delivered: every event out of the stream to a\n"+
		"consumer. CPU: the publisher process's own, per event (officegate: journal append + uplink); cluster CPU:\n"+
		"the three nats-server processes' together, per event, over the phase (on one machine: the nodes' share of it).\n"+
		"Latency: the event's due time → the consumer, at the paced rate. Sessions: setup from the child's start to every\n"+
		"session up; idle over -idle-for once up (after %v), no load; RSS per session: the three nodes' growth since before\n"+
		"the child started, over the sessions; loaded: each node's RSS when the saturated load ended, the sessions still up.\n", seqPollEvery, idleSettle)
	if c := r.Connect; c != nil {
		fmt.Fprintf(w, "\nofficegate connect, one replica, the MQTT publishers' events in $MQTT_msgs → PostgreSQL (fsync on, %d rows a transaction, fetches of %d):\n"+
			"  %d events, %.0f events/s, %.1f µs of its CPU per event\n", c.PGBatch, c.FetchBatch, c.Events, c.PerS, c.CPUUs)
	}
	fmt.Fprintf(w, "nats-server peak RSS (n1 n2 n3): %s MB; load average (1 5 15 min) at the start %v, at the end %v\n", mbList(r.NodePeakRSSMB), r.Load[0], r.Load[1])
	if r.Stream.Messages > 0 {
		fmt.Fprintf(w, "OFFICEGATE stream: %d messages, %d bytes on each node (%.0f B per message)\n", r.Stream.Messages, r.Stream.Bytes, r.Stream.BytesPerEv)
	}
}

// mbList renders MB figures as "a/b/c".
func mbList(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, "/")
}
