package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/officegate/officegate/firmware-bridge/fwemu"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestFwcheck: officegate fwcheck PORT passes an emulated terminal on a
// PTY and prints the report; a port where no device answers fails.
func TestFwcheck(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	d, err := fwemu.StartPTY("fwcheck", fwemu.Options{StatePath: filepath.Join(t.TempDir(), "flash"), HardwareID: "EMU-FWCHECK-CLI",
		Kind: msg.KindAttendance, RTC: true, SigningKey: key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Emu.EmitN(20)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"fwcheck", d.Path}, &out, &errb); err != nil {
		t.Fatalf("fwcheck: %v\n%s%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "13 passed, 0 failed, 0 skipped") || !strings.Contains(out.String(), "§6.4") {
		t.Errorf("report:\n%s", out.String())
	}

	// Nobody on the line: no HELLO, an error naming it.
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer s.Close()
	out.Reset()
	err = run(ctx, []string{"fwcheck", "-hello", "300ms", s.Name()}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "no HELLO") {
		t.Errorf("fwcheck of a silent port: %v", err)
	}
}
