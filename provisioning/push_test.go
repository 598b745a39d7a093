package provisioning_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush/pushdrv"
	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
	"github.com/officegate/officegate/provisioning"
)

// keepSink keeps the events it is given, after the intake's check.
type keepSink struct {
	mu  sync.Mutex
	evs []devices.Event
}

func (s *keepSink) Emit(_ context.Context, e devices.Event) error {
	if err := e.Check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, e)
	return nil
}

func (s *keepSink) punches() []devices.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []devices.Event
	for _, e := range s.evs {
		if e.Type == "attendance.punch" {
			out = append(out, e)
		}
	}
	return out
}

type pushCfg pushdrv.Options

func (c pushCfg) Decode(v any) error { *(v.(*pushdrv.Options)) = pushdrv.Options(c); return nil }

// TestPushTerminalEnrollment: a PUSH terminal whose serial is not configured
// is pending in the registry (on disk) and keeps its punches while it is;
// approved, it delivers every punch once, under its device id, and a
// disabled one is refused again.
func TestPushTerminalEnrollment(t *testing.T) {
	dir := t.TempDir()
	reg, err := provisioning.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	hub := pushdrv.NewHub(nil)
	host, err := pushdrv.New(hub, "lobby-push", devices.Options{Config: pushCfg{Serial: "HOST1", Listen: "127.0.0.1:0", TimeZone: "Asia/Shanghai"}})
	if err != nil {
		t.Fatal(err)
	}
	host.SetEnroll(reg.PushTerminal)
	sink := &keepSink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); host.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == ""; {
		if a := hub.Addr("127.0.0.1:0"); a != "" {
			url = "http://" + a
		} else if time.Now().After(deadline) {
			t.Fatal("listener never opened")
		}
		time.Sleep(time.Millisecond) // polling a condition
	}

	term := zkpushsim.New("NEW7", url, nil)
	for i := range 3 {
		if _, err := term.Punch(string(rune('1'+i)), 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := term.Handshake(ctx); err == nil || !strings.Contains(err.Error(), "pending approval") {
		t.Fatalf("handshake of an unknown terminal: %v, want a refusal saying it is pending", err)
	}
	if n, err := term.Upload(ctx); err == nil || n != 0 || term.Pending() != 3 {
		t.Fatalf("upload while pending: acked %d, err %v, %d kept; want refused with 3 kept", n, err, term.Pending())
	}
	if got := sink.punches(); len(got) != 0 {
		t.Fatalf("%d punches delivered while pending", len(got))
	}

	// Pending on disk, as the CLI and the enrollment message see it.
	reread, err := provisioning.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	hw := provisioning.PushHardwareID("NEW7")
	d, err := reread.ByHardwareID(hw)
	if err != nil || d.State != provisioning.StatePending || d.Model != provisioning.PushModel || !strings.HasPrefix(d.Port, "tcp:127.0.0.1") {
		t.Fatalf("registry holds %+v, %v; want a pending PUSH terminal", d, err)
	}

	if _, err := reg.Approve(hw, "hall-zk", "", "hall", ""); err != nil {
		t.Fatal(err)
	}
	if err := term.Handshake(ctx); err != nil {
		t.Fatalf("handshake after approval: %v", err)
	}
	if n, err := term.Upload(ctx); err != nil || n != 3 || term.Pending() != 0 {
		t.Fatalf("upload after approval: acked %d, err %v, %d kept", n, err, term.Pending())
	}
	if n, err := term.Upload(ctx); err != nil || n != 0 {
		t.Fatalf("second upload: acked %d, err %v", n, err)
	}
	got := sink.punches()
	keys := map[string]bool{}
	for _, e := range got {
		if e.Device != "hall-zk" || e.Source.HardwareID != "NEW7" {
			t.Errorf("punch for %q from %q, want hall-zk from NEW7", e.Device, e.Source.HardwareID)
		}
		keys[e.Source.Key] = true
	}
	if len(got) != 3 || len(keys) != 3 {
		t.Fatalf("%d punches, %d distinct ids delivered; want 3 once each", len(got), len(keys))
	}

	if err := reg.Disable("hall-zk"); err != nil {
		t.Fatal(err)
	}
	term.Punch("9", 0, 1)
	if _, err := term.Upload(ctx); err == nil || !strings.Contains(err.Error(), "disabled") || term.Pending() != 1 {
		t.Fatalf("upload while disabled: %v, %d kept; want refused, 1 kept", err, term.Pending())
	}
}
