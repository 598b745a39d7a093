package daemon

import (
	"context"
	"crypto/ed25519"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureStages: docs/ARCHITECTURE.md names the stages in the
// order wiring.stages starts them, with every optional stage configured.
func TestArchitectureStages(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	const lead = "stops them in reverse on every path"
	_, rest, ok := strings.Cut(string(doc), lead)
	if !ok {
		t.Fatalf("docs/ARCHITECTURE.md: no paragraph after %q", lead)
	}
	// The list is the paragraph after the one that introduces it.
	paras := strings.Split(strings.TrimSpace(rest), "\n\n")
	if len(paras) < 2 {
		t.Fatal("docs/ARCHITECTURE.md: no stage list")
	}
	list := regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(paras[1], "")
	list = strings.TrimSuffix(strings.TrimSpace(list), ".")
	var documented []string
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == '→' || r == ',' }) {
		documented = append(documented, strings.Join(strings.Fields(f), " "))
	}

	w := &wiring{o: Options{
		HTTP:         "127.0.0.1:0",
		Sinks:        []Sink{{}},
		Provisioning: &Provisioning{FirmwareKey: make(ed25519.PublicKey, ed25519.PublicKeySize)},
		Console:      &Console{},
		Watchdog:     func(context.Context, *Gateway) {},
	}}
	var started []string
	for _, s := range w.stages() {
		started = append(started, s.name)
	}
	if !slices.Equal(documented, started) {
		t.Fatalf("docs/ARCHITECTURE.md lists the stages\n  %q\nwiring.stages starts\n  %q", documented, started)
	}
}
