package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/officegate/officegate/provisioning/admin"
)

// sinks runs "sinks …": the sinks' state and dead letters, through the daemon.
func (a *adminCmd) sinks(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return a.usageErr("sinks: which command?")
	}
	sub, args := args[0], args[1:]
	name := "sinks " + sub
	switch sub {
	case "status":
		return query(a, name, args, 0, "no arguments",
			func(c *admin.Client, _ []string) ([]admin.SinkStatus, error) { return c.Sinks(ctx) },
			a.printSinks)
	case "deadletters":
		return query(a, name, args, 1, "a sink's name",
			func(c *admin.Client, pos []string) ([]admin.DeadLetter, error) { return c.SinkDeadLetters(ctx, pos[0]) },
			a.printDeadLetters)
	case "replay":
		pos, err := a.parse(a.flags(name), args, 1, "a sink's name")
		if err != nil {
			return err
		}
		res, err := a.client().SinkReplay(ctx, pos[0])
		if err != nil {
			return err
		}
		for _, f := range res.Failed {
			fmt.Fprintf(a.stderr, "%s seq %d (%s): %s\n", f.Stream, f.Seq, dash(f.ID), f.Why)
		}
		fmt.Fprintf(a.stdout, "%s: %d dead letter(s) delivered, %d not\n", pos[0], res.Delivered, len(res.Failed))
		if len(res.Failed) > 0 {
			return fmt.Errorf("%d dead letter(s) still undelivered", len(res.Failed))
		}
		return nil
	case "held":
		// The records a sink holds for people the directory does not map
		// yet, as "people held" lists them (people.go).
		fs := a.flags(name)
		path := fs.String("config", "/etc/officegate/officegate.toml", "the gateway's (or officegate connect's) configuration `file` (for its state directory and sinks)")
		asJSON := fs.Bool("json", false, "print JSON")
		pos, err := a.parse(fs, args, 1, "a sink's name")
		if err != nil {
			return err
		}
		return a.held(*path, pos, *asJSON)
	default:
		return a.usageErr("unknown command %q", name)
	}
}

// printSinks prints the sinks' state as a table, then an alarm line for
// each sink over its share of the journal's disk.
func (a *adminCmd) printSinks(st []admin.SinkStatus, _ []string) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tBACKLOG\tOLDEST\tDISK\tDELIVERED\tRETRIES\tHELD\tDEAD\tSTATE")
	for _, s := range st {
		oldest := "-"
		if !s.Oldest.IsZero() {
			oldest = time.Since(s.Oldest).Round(time.Second).String()
		}
		state := "delivering"
		if s.Down != "" {
			state = "failing (" + s.Class + "): " + s.Down
		}
		disk := fmt.Sprintf("%.1f MB", float64(s.BacklogBytes)/1e6)
		if s.Alarm {
			disk += " ALARM"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", s.Name, s.Backlog, oldest, disk, s.Delivered, s.Retries, s.Held, s.DeadLetters, state)
	}
	tw.Flush()
	for _, s := range st {
		if s.Alarm {
			fmt.Fprintf(a.stdout, "sink %s keeps half the journal's disk cap or more: fix its destination before the journal sheds telemetry and refuses punches\n", s.Name)
		}
	}
}

// printDeadLetters prints a sink's dead letters (pos[0] names it).
func (a *adminCmd) printDeadLetters(dls []admin.DeadLetter, pos []string) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tSTREAM\tSEQ\tDEVICE\tTYPE\tID\tERROR")
	for _, d := range dls {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", stamp(d.At), d.Stream, d.Seq, dash(d.Device), dash(d.Type), dash(d.ID), d.Error)
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "%d dead letter(s); after fixing the cause: officegate sinks replay %s\n", len(dls), pos[0])
}
