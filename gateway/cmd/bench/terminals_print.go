package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

func printTerminals(w io.Writer, r terminalsResult) {
	fmt.Fprintf(w, "attendance terminals on PTYs → link → intake → journal (no uplink), %d punches per terminal\n"+
		"recorded in one burst, batches of %d; timed from the first punch until every punch is durable,\n"+
		"then each checked in the journal: once, in order, for the right person\n\n", r.PunchesPerTerminal, r.Batch)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "terminals\tpunches/s\tper terminal/s\t× 115200 wire\tCPU µs/punch\tfsyncs/s\tcommits\tpeak RSS MB\tseconds\temit s\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%d\t%.1f\t%.3f\t%.3f\t\n", run.Terminals, run.PunchesPerS, run.PerTerminalPerS,
			run.VsWireAt115k2, run.CPUUsPerPunch, run.FsyncsPerS, run.Commits, run.RSSMB, run.Seconds, run.EmitSeconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nwire: a punch is %.1f bytes on the line as an untagged EVENT frame, so one 115 200-baud port\n"+
		"carries at most %.1f punches/s (the link bench's 64-byte event: 83 B, ≈ 139/s); a PTY has no baud\n"+
		"rate, so the figures above are the software's ceiling, not the wire's.\n", r.WireBytesPerPunch, r.WirePerSAt115k2)
	fmt.Fprintf(w, "CPU and peak RSS are the gateway process's (/proc/self, CPU in 10 ms ticks); journal sync window %.0f ms.\n", r.SyncWindowMs)
	var stateKB float64
	for _, run := range r.Runs {
		stateKB = max(stateKB, run.StateKBMax)
	}
	fmt.Fprintf(w, "terminals (this process, not measured): fwemu.StartDevice keeps fwemu's default punch log of %d,\n"+
		"so every batch rewrote a state file that grew to %.0f KB by the last punch; \"emit s\" is how long\n"+
		"recording the burst took.\n", r.LogCapacity, stateKB)
}
