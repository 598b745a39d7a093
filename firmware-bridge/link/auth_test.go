package link_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/internal/testkit"
)

// dir is a Directory from a map.
type dir struct {
	mu sync.Mutex
	m  map[string]link.Identity
}

func (d *dir) Lookup(ctx context.Context, h *msg.Hello) (link.Identity, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.m[h.HardwareID]
	if !ok {
		return link.Identity{Enrollment: link.Pending, Retry: 50 * time.Millisecond}, nil
	}
	return id, nil
}

func key(b byte) *link.Key {
	k := make([]byte, frame.KeyLen)
	for i := range k {
		k[i] = b + byte(i)
	}
	return &link.Key{Epoch: 1, Secret: k}
}

// TestAuth: an enrolled device with its key gets a tagged session; with
// the wrong key its HELLO is dropped as a bad MAC; without a key it is
// told auth_required; an unknown one is pending, a retired one retired.
func TestAuth(t *testing.T) {
	d := &dir{m: map[string]link.Identity{
		"KEYED":   {DeviceID: "terminal-1", Key: key(1)},
		"RETIRED": {Enrollment: link.Retired},
	}}
	for _, tc := range []struct {
		name    string
		hw      string
		key     *link.Key
		refused msg.Code
	}{
		{"key", "KEYED", key(1), 0},
		{"wrong key", "KEYED", key(2), 0},
		{"no key", "KEYED", nil, msg.CodeAuthRequired},
		{"unknown", "STRANGER", nil, msg.CodePending},
		{"retired", "RETIRED", nil, msg.CodeRetired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.NoLeaks(t)
			ctx := testkit.Ctx(t, 20*time.Second)
			j := new(linktest.Journal)
			g := newGateway(t, j, func(c *link.GatewayConfig) { c.Directory = d })
			o := emuOpts(t, t.TempDir())
			o.HardwareID, o.Key = tc.hw, tc.key
			e := newEmu(t, o)
			l := newLine(t)
			port := openGateway(t, l)
			run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
			run(t, func(ctx context.Context) error { return e.Run(ctx, l.dev) })
			switch {
			case tc.name == "key":
				want, _ := e.EmitN(200)
				waitEvents(t, ctx, j, len(want))
				checkEvents(t, j.Events(), want)
				if st := g.Status(); st.DeviceID != "terminal-1" || st.Caps&msg.CapAuth == 0 {
					t.Fatalf("status %+v", st)
				}
				if s := g.Stats(); s.Dropped[frame.ReasonBadMAC] != 0 {
					t.Fatalf("bad MACs in a keyed session: %+v", s)
				}
			case tc.name == "wrong key":
				if err := waitFor(ctx, func() bool { return g.Stats().Dropped[frame.ReasonBadMAC] >= 2 }); err != nil {
					t.Fatalf("HELLO with a wrong tag not dropped: %v", err)
				}
				if g.Status().Online {
					t.Fatal("session opened with a wrong key")
				}
			default:
				st, err := g.Wait(ctx, func(s link.Status) bool { return s.Refused == tc.refused })
				if err != nil || st.Online {
					t.Fatalf("status %+v, %v", st, err)
				}
			}
		})
	}
}

// TestRefusalTagged: a CLOSE that refuses a HELLO from a keyed hardware id
// is tagged in that HELLO's handshake context (§2.5, §6.6), so the device
// can read it — not with the key and boot of the session the port had.
func TestRefusalTagged(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := testkit.Ctx(t, 20*time.Second)
	k := key(1)
	d := &dir{m: map[string]link.Identity{"KEYED": {DeviceID: "terminal-1", Key: k}}}
	j := new(linktest.Journal)
	g := newGateway(t, j, func(c *link.GatewayConfig) { c.Directory = d })
	l := newLine(t)
	port := openGateway(t, l)
	run(t, func(ctx context.Context) error { return g.Run(ctx, port) })
	p := newRawPeer(t, l.dev, true)

	hello := func(boot uint32) *frame.Auth {
		h := testHello("KEYED")
		h.Boot, h.Caps = boot, h.Caps|msg.CapAuth
		body, err := msg.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		a := &frame.Auth{Epoch: k.Epoch, Key: k.Secret, DeviceBoot: boot}
		b, err := frame.Append(nil, frame.Frame{Type: frame.TypeHello, Flags: frame.FlagFromDevice, Body: body}, a)
		if err != nil {
			t.Fatal(err)
		}
		p.raw(b)
		return a
	}
	a := hello(5)
	f, _ := p.expectMsg(ctx, frame.TypeWelcome)
	if err := f.Verify(a); err != nil {
		t.Fatalf("WELCOME: %v", err)
	}
	a = hello(4) // a boot before the one just seen
	f, m := p.expectMsg(ctx, frame.TypeClose)
	if c := m.(*msg.Close); c.Code != msg.CodeBootRegressed {
		t.Fatalf("CLOSE %v, want boot_regressed", c.Code)
	}
	if err := f.Verify(a); err != nil {
		t.Fatalf("CLOSE boot_regressed does not verify in the HELLO's context (boot 4): %v", err)
	}
}
