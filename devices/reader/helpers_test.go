package reader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/reader"
	"github.com/officegate/officegate/devices/wiegand"
	"github.com/officegate/officegate/devices/wiegand/wiegandsim"
)

// tomlSection decodes a TOML table as strictly as the gateway's configuration does.
type tomlSection string

func (s tomlSection) Decode(v any) error {
	err := toml.NewDecoder(strings.NewReader(string(s))).DisallowUnknownFields().Decode(v)
	if sm, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		return errors.New(sm.String()) // names the unknown keys, as the gateway's check does
	}
	return err
}

// t0 is the wall clock every test driver reads.
var t0 = time.Date(2026, 3, 2, 8, 59, 30, 0, time.UTC)

// collector is a Sink that keeps what it takes. busy makes its next calls return
// ErrBusy: that many if positive, all if negative.
type collector struct {
	mu     sync.Mutex
	events []devices.Event // guarded by mu
	calls  int             // guarded by mu
	busy   int             // guarded by mu
}

func (c *collector) Emit(ctx context.Context, e devices.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.busy != 0 {
		if c.busy > 0 {
			c.busy--
		}
		return fmt.Errorf("journal behind: %w", devices.ErrBusy)
	}
	if err := e.Check(); err != nil {
		return err
	}
	c.events = append(c.events, e)
	return nil
}

func (c *collector) got() []devices.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]devices.Event(nil), c.events...)
}

// newDriver builds a driver over a fresh source from a TOML section, logging into log.
func newDriver(t testing.TB, section string, log *bytes.Buffer, w reader.With) (*reader.Reader, *wiegandsim.Source) {
	t.Helper()
	src := wiegandsim.NewSource()
	w.Source = src
	opts := devices.Options{Config: tomlSection(section), Now: func() time.Time { return t0 }}
	if log != nil {
		opts.Log = zerolog.New(log)
	}
	d, err := reader.NewWith("door-1", opts, w)
	if err != nil {
		t.Fatalf("NewWith: %v", err)
	}
	return d, src
}

// play pushes edges, closes the source and runs the driver to the end of them.
func play(t testing.TB, d *reader.Reader, src *wiegandsim.Source, sink devices.Sink, edges []wiegand.Edge) {
	t.Helper()
	src.Push(edges...)
	src.Close()
	if err := d.Run(context.Background(), sink); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// writeFile writes text to path or fails the test.
func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeKey writes key to a file in a temporary directory and returns its path.
func writeKey(t *testing.T, key string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "card.key")
	writeFile(t, p, key)
	return p
}

// strs returns every string an event holds or prints as: its fields, every key and
// value of its data at any depth (numbers formatted), and its %v, %+v and %#v forms.
func strs(e devices.Event) []string {
	out := []string{e.Device, e.Type, e.TimeRaw, e.Clock, e.Source.HardwareID,
		fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(k)
				walk(v.MapIndex(k))
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Invalid:
		default:
			out = append(out, fmt.Sprint(v.Interface()))
		}
	}
	walk(reflect.ValueOf(e.Data))
	return out
}
