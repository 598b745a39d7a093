package sdnotify_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/sdnotify"
)

// A full disk is not a hang: with the journal's file system genuinely full
// and devices retrying their refused records all the while, the watchdog
// keeps pinging well past its journal limit.
func TestProgressUnaffectedByFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=262144,mode=0700"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs for a genuinely full file system: %v", err)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	j, err := journal.Open(dir+"/journal", &journal.Options{
		Streams:     []journal.Stream{{Name: "records", Priority: journal.PriorityRecord}},
		SegmentSize: 32 << 10, MaxRecordSize: 1024, SyncWindow: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	body := []byte(strings.Repeat("r", 200))
	ctx := context.Background()
	for n := 0; ; n++ {
		if _, err := j.Append(ctx, "records", body); err != nil {
			if !errors.Is(err, journal.ErrFull) {
				t.Fatalf("append %d: %v", n, err)
			}
			break
		}
	}

	// Eight devices retry their refused records as fast as they can.
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var refused sync.Map
	for d := 0; d < 8; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rctx.Err() == nil {
				if _, err := j.Append(rctx, "records", body); !errors.Is(err, journal.ErrFull) {
					refused.Store(d, fmt.Errorf("device %d: %v, want ErrFull", d, err))
					return
				}
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()

	p := sdnotify.NewProgress(j, nil, nil, sdnotify.Limits{Journal: 10 * time.Second})
	now := time.Unix(1_700_000_000, 0)
	before := j.Stats().Full.Refused
	for i := 0; i <= 60; i++ { // a minute of watchdog checks, one a second
		if err := p.Check(now.Add(time.Duration(i) * time.Second)); err != nil {
			t.Fatalf("check %d with a full disk: %v", i, err)
		}
		// Let the devices retry between checks.
		for target := j.Stats().Full.Refused + 8; j.Stats().Full.Refused < target; {
			time.Sleep(100 * time.Microsecond)
		}
	}
	refused.Range(func(_, v any) bool { t.Error(v); return true })
	if s := j.Stats(); !s.Full.Full || s.Full.Cause != journal.FullDisk || s.Full.Refused < before+60*8 || s.Failed != nil {
		t.Fatalf("journal after a minute of refusals: full %+v, failed %v", s.Full, s.Failed)
	}
}
