package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/officegate/officegate/gateway/config"
	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/provisioning/admin"
)

// people runs "people …": the person directory through the daemon, and
// the sinks' held records from the state directory.
func (a *adminCmd) people(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return a.usageErr("people: which command?")
	}
	sub, args := args[0], args[1:]
	name := "people " + sub
	switch sub {
	case "import":
		fs := a.flags(name)
		replace := fs.Bool("replace", false, "remove the people the file does not name (the file is the whole directory)")
		pos, err := a.parse(fs, args, 1, "a CSV FILE")
		if err != nil {
			return err
		}
		csv, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		res, err := a.client().PeopleImport(ctx, csv, *replace)
		if err := a.problems(pos[0], err); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s: %d added, %d updated, %d unchanged, %d removed; held punches of the people added are delivered now\n",
			pos[0], res.Added, res.Updated, res.Unchanged, res.Removed)
		return nil
	case "list":
		return query(a, name, args, 0, "no arguments",
			func(c *admin.Client, _ []string) ([]admin.Person, error) { return c.People(ctx) },
			a.printPeople)
	case "show":
		return query(a, name, args, 1, "a person id or card hash",
			func(c *admin.Client, pos []string) (admin.Person, error) { return c.PersonShow(ctx, pos[0]) },
			a.printPerson)
	case "remove":
		pos, err := a.parse(a.flags(name), args, 1, "a person id")
		if err != nil {
			return err
		}
		p, err := a.client().PersonRemove(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "removed %s from the directory; their punches are held for the platform sinks until they are imported again\n", p.ID)
		return nil
	case "forget":
		pos, err := a.parse(a.flags(name), args, 1, "a person id")
		if err != nil {
			return err
		}
		rep, err := a.client().PeopleForget(ctx, pos[0])
		if err != nil && len(rep.Erased) == 0 {
			return err
		}
		fmt.Fprintf(a.stdout, "forgot %s:\n", rep.Person)
		for _, e := range rep.Erased {
			fmt.Fprintf(a.stdout, "  erased from %s: %d\n", e.Where, e.Count)
		}
		if len(rep.Remains) > 0 {
			fmt.Fprintln(a.stdout, "what remains on this gateway until its retention passes:")
			for _, r := range rep.Remains {
				fmt.Fprintf(a.stdout, "  %s\n", r)
			}
		}
		return err
	case "held":
		fs := a.flags(name)
		path := fs.String("config", "/etc/officegate/officegate.toml", "the gateway's (or officegate connect's) configuration `file` (for its state directory and sinks)")
		asJSON := fs.Bool("json", false, "print JSON")
		pos, err := a.parse(fs, args, -1, "at most one SINK")
		if err != nil {
			return err
		}
		return a.held(*path, pos, *asJSON)
	}
	return a.usageErr("unknown command %q", name)
}

// held lists the records the sinks hold for people the directory does not
// map yet, read from the state directory (the daemon need not run). path
// is a gateway's file or officegate connect's.
func (a *adminCmd) held(path string, only []string, asJSON bool) error {
	dir, names, err := heldPlace(path)
	if err != nil {
		return err
	}
	if len(only) == 1 {
		if !slices.Contains(names, only[0]) {
			return fmt.Errorf("people held: no sink %q in %s (sinks: %s)", only[0], path, strings.Join(names, ", "))
		}
		names = only
	}
	all := []sinks.Held{}
	for _, n := range names {
		hs, err := sinks.ReadHeld(dir, n)
		if err != nil {
			return err
		}
		all = append(all, hs...)
	}
	if asJSON {
		for i := range all {
			all[i].Body = nil // the journaled record: not for a listing
		}
		return a.json(all)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tPERSON\tPLATFORM\tDEVICE\tTYPE\tEVENT\tHELD SINCE")
	for _, h := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Sink, h.Person, h.Platform, dash(h.Device), dash(h.Type), dash(h.ID), stamp(h.Since))
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "%d held record(s); import the people (officegate people import FILE) and they are delivered\n", len(all))
	return nil
}

// heldPlace is where the sinks of the configuration at path keep their held
// records, and their names: a gateway's, or else officegate connect's (its
// state directory's "held"). A file that is neither is the gateway's error.
func heldPlace(path string) (string, []string, error) {
	var names []string
	cfg, _, err := loadConfig(path)
	if err == nil {
		for _, s := range cfg.Sinks {
			names = append(names, s.Name)
		}
		return filepath.Join(filepath.Dir(cfg.Journal.Dir), daemon.HeldDir), names, nil
	}
	cc, cerr := config.LoadConnect(path)
	if cerr != nil {
		return "", nil, err
	}
	for _, s := range cc.Sinks {
		names = append(names, s.Name)
	}
	return filepath.Join(cc.StateDir, connect.HeldDir), names, nil
}

// printPeople prints the directory as a table.
func (a *adminCmd) printPeople(ps []admin.Person, _ []string) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PERSON\tNAME\tLANG\tCARD\tDINGTALK\tWECOM\tFEISHU\tEMPLOYEE")
	for _, p := range ps {
		card := "-"
		if p.CardHash != "" {
			card = p.CardHash[:12] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, dash(p.Name), dash(p.Lang), card,
			dash(p.DingTalk), dash(p.WeCom), dash(p.Feishu), dash(p.Employee))
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "%d people\n", len(ps))
}

// printPerson prints one person's entry.
func (a *adminCmd) printPerson(p admin.Person, _ []string) {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	for _, r := range [][2]string{{"person", p.ID}, {"name", p.Name}, {"lang", p.Lang}, {"card hash", p.CardHash},
		{"dingtalk", p.DingTalk}, {"wecom", p.WeCom}, {"feishu", p.Feishu}, {"employee", p.Employee}, {"updated", stamp(p.Updated)}} {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], dash(r[1]))
	}
	tw.Flush()
}
