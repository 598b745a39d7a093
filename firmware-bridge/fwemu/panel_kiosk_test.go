package fwemu

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestKioskDisplay: a kiosk's panel takes kiosk_display; a terminal does not.
func TestKioskDisplay(t *testing.T) {
	k, err := New(Options{StatePath: filepath.Join(t.TempDir(), "k"), Kind: msg.KindKiosk})
	if err != nil {
		t.Fatal(err)
	}
	f := k.panelCommand("kiosk_display")
	if f == nil {
		t.Fatal("a kiosk panel has no kiosk_display")
	}
	if _, err := f(context.Background(), map[string]any{"line": "Welcome, 王芳"}); err != nil || k.PanelLine() != "Welcome, 王芳" {
		t.Fatalf("kiosk_display: %v, shows %q", err, k.PanelLine())
	}
	term, _ := New(Options{StatePath: filepath.Join(t.TempDir(), "t"), Kind: msg.KindAttendance})
	if term.panelCommand("kiosk_display") != nil {
		t.Error("a terminal takes kiosk_display")
	}
}
