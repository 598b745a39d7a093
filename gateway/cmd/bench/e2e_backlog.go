package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gwcommands "github.com/officegate/officegate/gateway/commands"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/intake"
	"github.com/officegate/officegate/gateway/journal"
)

// buildBacklog leaves n undelivered events in a gateway state directory, as
// a gateway that took them from its devices during a long outage would: the
// envelopes intake makes, in the stream intake picks, in a journal opened
// with the daemon's stream table. It returns their ids.
func buildBacklog(ctx context.Context, stateDir string, n, devices int) (map[string]struct{}, error) {
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return nil, err
	}
	jo := journal.Options{Streams: intake.JournalStreams()}
	for i := range jo.Streams {
		if jo.Streams[i].Name == gwcommands.Stream.Name {
			jo.Streams[i].Keep = gwcommands.Keep // as the daemon opens it
		}
	}
	j, err := journal.Open(filepath.Join(stateDir, "journal"), &jo)
	if err != nil {
		return nil, err
	}
	const typ = "attendance.punch"
	stream := intake.StreamFor(typ)
	ids := make(map[string]struct{}, n)
	now := time.Now()
	// 1 000 events a commit: the backlog is the starting point, not measured.
	var bodies [][]byte
	for k := range n {
		dev := k % devices
		seq := uint64(k/devices + 1)
		id := envelope.EventID(fmt.Sprintf("EMU-backlog-%02d", dev), 1, seq)
		ids[id] = struct{}{}
		data, err := envelope.EncodeData(map[string]any{"user": fmt.Sprintf("%05d", 10000+k%500), "verify": "card", "state": uint64(k % 2)})
		if err != nil {
			j.Close()
			return nil, err
		}
		t := now.Add(time.Duration(k-n) * time.Millisecond)
		e := &envelope.Event{
			V: envelope.Version, ID: id, Type: typ, Gateway: benchGateway, Device: fmt.Sprintf("dev-%02d", dev),
			Boot: 1, Seq: seq, Time: envelope.StampOf(t.UTC()), TimeRaw: t.UTC().Format("2006-01-02T15:04:05.000"),
			Clock: envelope.ClockSynced, Received: envelope.StampOf(t.UTC()), Data: data,
		}
		b, err := (&envelope.Outbound{Event: e}).Encode()
		if err != nil {
			j.Close()
			return nil, err
		}
		bodies = append(bodies, b)
		if len(bodies) == 1000 || k == n-1 {
			if _, err := j.AppendBatch(ctx, stream, bodies); err != nil {
				j.Close()
				return nil, fmt.Errorf("bench: backlog: %w", err)
			}
			bodies = nil
		}
	}
	return ids, j.Close()
}
