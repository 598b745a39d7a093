package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
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
	goalIdleCPUPct      = 1.0 // issue "Performance": 64 idle devices cost ≤ 1 % of one core
)

func printE2E(w io.Writer, cfg e2eConfig, r e2eResult) {
	if r.Idle != nil {
		printIdle(w, r)
		if cfg.IdleOnly {
			return
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d emulated devices (%s) on PTYs → officegate → mosquitto → subscriber, against raw paho QoS 1\n"+
		"publishing the same messages to the same broker, window %d for both\ngateway: %s, %.1f MB\n\n",
		r.Devices, r.DeviceMode, r.Inflight, r.GatewayBinary, r.GatewayBinaryMB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tofficegate\traw paho\tresult\tgoal\t")
	fmt.Fprintf(tw, "throughput, saturated\t%.0f events/s\t%.0f msg/s\t%.2f\t≥ %.1f: %s\t\n",
		r.GatewayEventsPerS, r.RawMsgsPerS, r.ThroughputRatio, goalThroughputRatio, yes(r.ThroughputRatio >= goalThroughputRatio))
	fmt.Fprintf(tw, "CPU per event\t%.1f µs\t%.1f µs\t%.2f\t≤ %.1f: %s\t\n",
		r.GatewayCPUUs, r.RawCPUUs, r.CPURatio, goalCPURatio, yes(r.CPURatio <= goalCPURatio))
	for _, k := range stagesSorted(r.StagesCPUUs) {
		fmt.Fprintf(tw, "  of which %s\t%.1f µs\t\t\t\t\n", stageName(k), r.StagesCPUUs[k])
	}
	fmt.Fprintf(tw, "not the gateway's: the bench process\t%.1f µs\t\t(machine %.0f%% busy)\t\t\n", r.BenchCPUUs, r.MachineBusyPct)
	for _, k := range slices.Sorted(maps.Keys(r.BenchSidesCPUUs)) {
		fmt.Fprintf(tw, "  of which %s\t%.1f µs\t\t\t\t\n", k, r.BenchSidesCPUUs[k])
	}
	fmt.Fprintf(tw, "backlog drain (%d events)\t%.0f events/s\t%.0f msg/s\t%.2f\t≥ %.1f: %s\t\n",
		r.DrainEvents, r.GatewayDrainPerS, r.RawDrainPerS, r.DrainRatio, goalDrainRatio, yes(r.DrainRatio >= goalDrainRatio))
	fmt.Fprintf(tw, "CPU per event in the drain\t%.1f µs\t%.1f µs\t%.2f\t\t\n", r.DrainCPUUs, r.DrainCPUUs/max(r.DrainCPURatio, 1e-9), r.DrainCPURatio)
	fmt.Fprintf(tw, "latency at %.0f events/s, p50\t%.2f ms\t\t\t\t\n", r.OfferedPerS, r.P50Ms)
	fmt.Fprintf(tw, "latency p99 (max %.1f ms)\t%.2f ms\t\t\t≤ %d ms: %s\t\n", r.MaxMs, r.P99Ms, goalP99Ms, yes(r.P99Ms <= goalP99Ms))
	// Raw paho's RSS is not shown beside it: that process holds every
	// message it publishes, so it says nothing about paho.
	fmt.Fprintf(tw, "peak RSS, %d devices\t%.1f MB\t\t(now: anon %.1f, file %.1f)\t≤ %d MB: %s\t\n", r.Devices, r.RSSMB, r.RSSAnonMB, r.RSSFileMB, goalRSSMB, yes(r.RSSMB <= goalRSSMB))
	fmt.Fprintf(tw, "restart → first publish, %d in journal\t%.1f ms\t\t\t≤ %d ms: %s\t\n", r.RestartEvents, r.RestartMs, goalRestartMs, yes(r.RestartMs <= goalRestartMs))
	fmt.Fprintf(tw, "peak RSS after draining them\t%.1f MB\t\t(now: anon %.1f)\t\t\n", r.RestartRSSMB, r.RestartRSSAnonMB)
	tw.Flush()
	fmt.Fprintf(w, "\njournal sync window %.0f ms; latency: device Emit → subscriber, %d events; drain: first to last delivery (the reconnect took %.0f ms more);\n"+
		"restart backlog then drained at %.0f events/s; %d redeliveries seen (same id again);\n"+
		"the devices' links: %d sessions, %d link downs, %d frames retransmitted\n",
		r.SyncWindowMs, r.LatencyEvents, r.ReconnectMs, r.RestartDrainPerS, r.Duplicates,
		r.DeviceLink.Sessions, r.DeviceLink.LinkDowns, r.DeviceLink.Retransmits)
}

func printIdle(w io.Writer, r e2eResult) {
	i := r.Idle
	fmt.Fprintf(w, "idle: %d devices connected, heartbeats only, %.0f s\n\n", r.Devices, i.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tofficegate\tgoal\t")
	fmt.Fprintf(tw, "CPU, %% of one core\t%.2f %%\t≤ %.0f %%: %s\t\n", i.CPUPct, goalIdleCPUPct, yes(i.CPUPct <= goalIdleCPUPct))
	for _, k := range stagesSorted(i.StagesCPUPct) {
		fmt.Fprintf(tw, "  of which %s\t%.2f %%\t\t\n", stageName(k), i.StagesCPUPct[k])
	}
	fmt.Fprintf(tw, "wake-ups/s (voluntary switches)\t%.0f\t\t\n", i.WakeupsPerS)
	fmt.Fprintf(tw, "preemptions/s\t%.0f\t\t\n", i.PreemptPerS)
	fmt.Fprintf(tw, "RSS now\t%.1f MB (anon %.1f)\t\t\n", i.RSSMB, i.RSSAnonMB)
	fmt.Fprintf(tw, "devices + subscriber (not the gateway)\t%.2f %%\t\t\n", i.BenchCPUPct)
	tw.Flush()
}
