package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// The goals the gateway is built to (issue "Benchmark, side by side in one
// run").
const (
	goalThroughputRatio = 0.8
	goalP99Ms           = 5
	goalCPURatio        = 1.3
	goalRSSMB           = 16
	goalDrainRatio      = 0.8
	goalRestartMs       = 100
)

func printE2E(w io.Writer, cfg e2eConfig, r e2eResult) {
	fmt.Fprintf(w, "%d emulated devices on PTYs → officegate → mosquitto → subscriber, against raw paho QoS 1\n"+
		"publishing the same messages to the same broker, window %d for both\n\n", r.Devices, r.Inflight)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tofficegate\traw paho\tresult\tgoal\t")
	fmt.Fprintf(tw, "throughput, saturated\t%.0f events/s\t%.0f msg/s\t%.2f\t≥ %.1f: %s\t\n",
		r.GatewayEventsPerS, r.RawMsgsPerS, r.ThroughputRatio, goalThroughputRatio, yes(r.ThroughputRatio >= goalThroughputRatio))
	fmt.Fprintf(tw, "CPU per event\t%.1f µs\t%.1f µs\t%.2f\t≤ %.1f: %s\t\n",
		r.GatewayCPUUs, r.RawCPUUs, r.CPURatio, goalCPURatio, yes(r.CPURatio <= goalCPURatio))
	fmt.Fprintf(tw, "backlog drain (%d events)\t%.0f events/s\t%.0f msg/s\t%.2f\t≥ %.1f: %s\t\n",
		r.DrainEvents, r.GatewayDrainPerS, r.RawDrainPerS, r.DrainRatio, goalDrainRatio, yes(r.DrainRatio >= goalDrainRatio))
	fmt.Fprintf(tw, "CPU per event in the drain\t%.1f µs\t%.1f µs\t%.2f\t\t\n", r.DrainCPUUs, r.DrainCPUUs/max(r.DrainCPURatio, 1e-9), r.DrainCPURatio)
	fmt.Fprintf(tw, "latency at %.0f events/s, p50\t%.2f ms\t\t\t\t\n", r.OfferedPerS, r.P50Ms)
	fmt.Fprintf(tw, "latency p99 (max %.1f ms)\t%.2f ms\t\t\t≤ %d ms: %s\t\n", r.MaxMs, r.P99Ms, goalP99Ms, yes(r.P99Ms <= goalP99Ms))
	// Raw paho's RSS is not shown beside it: that process holds every
	// message it publishes, so it says nothing about paho.
	fmt.Fprintf(tw, "peak RSS, %d devices\t%.1f MB\t\t(now: anon %.1f, file %.1f)\t≤ %d MB: %s\t\n", r.Devices, r.RSSMB, r.RSSAnonMB, r.RSSFileMB, goalRSSMB, yes(r.RSSMB <= goalRSSMB))
	fmt.Fprintf(tw, "restart → first publish, %d in journal\t%.1f ms\t\t\t≤ %d ms: %s\t\n", r.RestartEvents, r.RestartMs, goalRestartMs, yes(r.RestartMs <= goalRestartMs))
	tw.Flush()
	fmt.Fprintf(w, "\njournal sync window %.0f ms; latency: device Emit → subscriber, %d events; drain: first to last delivery (the reconnect took %.0f ms more);\n"+
		"restart backlog then drained at %.0f events/s; %d redeliveries seen (same id again)\n",
		r.SyncWindowMs, r.LatencyEvents, r.ReconnectMs, r.RestartDrainPerS, r.Duplicates)
}
