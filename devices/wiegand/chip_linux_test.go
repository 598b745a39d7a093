//go:build linux

package wiegand

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The line request's descriptor is stood in for by a pipe carrying struct
// gpio_v2_line_event records, so everything but the ioctl runs here: parsing, many
// events per read, the wait, cancellation and Close.

func rawEvent(ts time.Duration, id, offset, seq, lineSeq uint32) []byte {
	b := make([]byte, eventSize)
	ne := binary.NativeEndian
	ne.PutUint64(b[0:], uint64(ts))
	ne.PutUint32(b[8:], id)
	ne.PutUint32(b[12:], offset)
	ne.PutUint32(b[16:], seq)
	ne.PutUint32(b[20:], lineSeq)
	return b
}

func pipeChip(t *testing.T) (*Chip, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := newChip(r, "/dev/gpiochip-test", 17, 27)
	t.Cleanup(func() { c.Close(); w.Close() })
	return c, w
}

func TestChipParse(t *testing.T) {
	c, w := pipeChip(t)
	var b []byte
	b = append(b, rawEvent(1000, 2, 17, 1, 1)...)
	b = append(b, rawEvent(3000, 2, 27, 2, 1)...)
	b = append(b, rawEvent(3050, 1, 27, 3, 2)...)
	b = append(b, rawEvent(5000, 2, 5, 4, 1)...) // a line that is not ours is skipped
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	dst := make([]Edge, 16)
	n, err := c.ReadEdges(context.Background(), dst, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []Edge{
		{Time: 1000, Seq: 1, LineSeq: 1, Line: D0, Falling: true},
		{Time: 3000, Seq: 2, LineSeq: 1, Line: D1, Falling: true},
		{Time: 3050, Seq: 3, LineSeq: 2, Line: D1, Falling: false},
	}
	if n != len(want) {
		t.Fatalf("read %d edges: %v", n, dst[:n])
	}
	for i := range want {
		if dst[i] != want[i] {
			t.Errorf("edge %d = %+v, want %+v", i, dst[i], want[i])
		}
	}
}

// TestChipBatches checks that one read takes many events, but never more than dst holds.
func TestChipBatches(t *testing.T) {
	c, w := pipeChip(t)
	var b []byte
	for i := range uint32(100) {
		b = append(b, rawEvent(time.Duration(i)*time.Millisecond, 2, 17, i+1, i+1)...)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	dst := make([]Edge, 64)
	total := 0
	for reads := 0; total < 100; reads++ {
		n, err := c.ReadEdges(context.Background(), dst, time.Second)
		if err != nil || n == 0 || n > len(dst) {
			t.Fatalf("read %d: n %d err %v", reads, n, err)
		}
		for i := range n {
			if dst[i].Seq != uint32(total+i+1) {
				t.Fatalf("edge %d has seq %d", total+i, dst[i].Seq)
			}
		}
		total += n
	}
}

func TestChipWaitCancelClose(t *testing.T) {
	c, _ := pipeChip(t)
	dst := make([]Edge, 8)
	if n, err := c.ReadEdges(context.Background(), dst, 10*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("quiet line: n %d err %v", n, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadEdges(ctx, dst, time.Hour)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked 10 s after cancel")
	}

	go func() {
		_, err := c.ReadEdges(context.Background(), dst, time.Hour)
		done <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read still blocked 10 s after Close")
	}
}

func TestOpenChipErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gpiochip9")
	_, err := OpenChip(missing, 17, 27, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not found") || !strings.HasPrefix(err.Error(), "wiegand: ") {
		t.Errorf("missing chip: %v", err)
	}
	if _, err := OpenChip(os.DevNull, 17, 27, nil); err == nil || !strings.Contains(err.Error(), "not a GPIO chip") {
		t.Errorf("not a chip: %v", err)
	}
	if _, err := OpenChip(missing, 17, 17, nil); err == nil {
		t.Error("same line for D0 and D1 accepted")
	}
	if _, err := OpenChip(missing, 17, 27, &ChipOpts{EventBuffer: 5000}); err == nil {
		t.Error("oversized event buffer accepted")
	}
	if os.Geteuid() == 0 {
		return // root opens anything
	}
	f := filepath.Join(t.TempDir(), "gpiochip0")
	if err := os.WriteFile(f, nil, 0); err != nil {
		t.Fatal(err)
	}
	_, err = OpenChip(f, 17, 27, nil)
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "add the user to group") {
		t.Errorf("no permission: %v", err)
	}
}

// TestPermissionMessage checks the advice names the device's group, which the test
// above cannot reach when it runs as root.
func TestPermissionMessage(t *testing.T) {
	err := openError(os.DevNull, fs.ErrPermission)
	g := ownerGroup(os.DevNull)
	if g == "" || !strings.Contains(err.Error(), "group \""+g+"\"") {
		t.Errorf("%v (group %q)", err, g)
	}
}
