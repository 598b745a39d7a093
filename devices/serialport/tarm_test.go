package serialport

import (
	"errors"
	"flag"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/internal/testkit"
	"github.com/tarm/serial"
)

var measure = flag.Bool("serialport.measure", false, "measure tarm/serial's Close behind a blocked Read or Write (takes seconds)")

// Pins the defect Port.Read contains: if tarm/serial ever tells a timeout from a hang-up
// itself, this fails and Port.Read can be simplified.
func TestTarmConflatesTimeoutAndHangup(t *testing.T) {
	testkit.NoLeaks(t)
	d := newDevice(t)
	sp, err := serial.OpenPort(&serial.Config{Name: d.slave, Baud: 115200, ReadTimeout: DefaultPollInterval})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	b := make([]byte, 8)
	if n, err := sp.Read(b); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("quiet line: Read = %d, %v; tarm/serial used to return 0, io.EOF", n, err)
	}
	d.m.Close()
	if n, err := sp.Read(b); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("hung up: Read = %d, %v; tarm/serial used to return 0, io.EOF", n, err)
	}
}

// TestMeasureTarmClose reproduces the figures in doc.go:
//
//	go test -run MeasureTarmClose -v ./devices/serialport -serialport.measure
func TestMeasureTarmClose(t *testing.T) {
	if !*measure {
		t.Skip("measurement; run with -serialport.measure")
	}
	const patience = time.Second
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		op      func(sp *serial.Port) error
		inside  string // frame of the blocked call in a goroutine dump
	}{
		{"Read, no ReadTimeout", 0, func(sp *serial.Port) error { _, err := sp.Read(make([]byte, 8)); return err }, "serial.(*Port).Read"},
		{"Read, ReadTimeout 100ms", 100 * time.Millisecond, func(sp *serial.Port) error { _, err := sp.Read(make([]byte, 8)); return err }, "serial.(*Port).Read"},
		{"Write to a peer that does not read", 100 * time.Millisecond, func(sp *serial.Port) error { _, err := sp.Write(make([]byte, 1<<20)); return err }, "serial.(*Port).Write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDevice(t)
			sp, err := serial.OpenPort(&serial.Config{Name: d.slave, Baud: 115200, ReadTimeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			opDone := make(chan error, 1)
			go func() {
				for {
					err := tc.op(sp)
					if tc.timeout == 0 || err == nil || !errors.Is(err, io.EOF) {
						opDone <- err
						return
					}
				}
			}()
			eventually(t, "the call to block in a syscall", func() bool { return blockedIn(tc.inside) })
			start := time.Now()
			closed := make(chan struct{})
			go func() { sp.Close(); close(closed) }()
			select {
			case <-closed:
				t.Logf("Close returned after %v", time.Since(start))
			case <-time.After(patience):
				t.Logf("Close still blocked after %v; releasing the call from the device side", patience)
				d.s.Close()
				d.m.Close() // a pending Write fails, a pending Read sees the hang-up
				<-closed
				t.Logf("Close returned %v after start, once the call returned", time.Since(start))
			}
			t.Logf("the blocked call returned %v", <-opDone)
		})
	}
}

// blockedIn reports whether some goroutine sits in a system call under frame.
func blockedIn(frame string) bool {
	buf := make([]byte, 1<<20)
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "[syscall") && strings.Contains(g, frame) {
			return true
		}
	}
	return false
}
