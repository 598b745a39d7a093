package uplink

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// The retained gateway status says when the journal is full: a gateway that
// connects with a full journal publishes online with journal.state "full",
// and once the backlog drained and room is back it republishes without it.
func TestGatewayStatusCarriesJournalFull(t *testing.T) {
	b := mqtttest.Start(t, nil)
	j, err := journal.Open(t.TempDir(), &journal.Options{
		Streams: []journal.Stream{
			{Name: "control", Priority: journal.PriorityControl},
			{Name: "attendance", Priority: journal.PriorityRecord},
		},
		SegmentSize: 64 << 10, MaxBytes: 256 << 10, MaxRecordSize: 1024,
		SyncWindow: time.Millisecond, CursorInterval: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	body := []byte(`{"v":1,"pad":"` + strings.Repeat("p", 180) + `"}`)
	n := 0
	for ; ; n++ {
		if _, err = j.Append(context.Background(), "attendance", body); err != nil {
			break
		}
	}
	if !errors.Is(err, journal.ErrFull) {
		t.Fatalf("after %d appends: %v", n, err)
	}

	s := subscribe(t, b.URL, "officegate/gw-test/status")
	startUplink(t, j, b.URL, func(o *Options) { o.Streams = []string{"control", "attendance"} })
	var sawFull bool
	waitFor(t, "online with the journal full, then without", 30*time.Second, func() bool {
		for _, m := range s.snapshot() {
			if err := contract.Strict(contract.GatewayStatus, m.payload); err != nil {
				t.Fatalf("status breaks the contract: %v\n%s", err, m.payload)
			}
			if m.ev["state"] != "online" {
				continue
			}
			jr, _ := m.ev["journal"].(map[string]any)
			switch {
			case jr != nil && jr["state"] == "full" && jr["cause"] == "cap" && jr["since"] != "":
				sawFull = true
			case jr == nil && sawFull:
				return true
			}
		}
		return false
	})
}
