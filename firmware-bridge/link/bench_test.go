package link_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/link/linktest"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// event64 returns data that makes an EVENT body of exactly 64 bytes for
// ids [boot < 24, 65536 ≤ n], time set, clock set: a punch with a user id
// and a verify method, the size of a typical attendance record.
func event64() map[string]any {
	for pad := 0; pad < 64; pad++ {
		d := map[string]any{"user": "10234", "verify": "card" + strings.Repeat("x", pad)}
		ev := msg.Event{ID: msg.EventID{Boot: 1, Seq: 70000}, Kind: "punch", Time: 1764000000000, Clock: msg.ClockSet, Data: d}
		if b, _ := msg.Marshal(&ev); len(b) == 64 {
			return d
		}
	}
	panic("no 64-byte event")
}

// wireLen is the bytes one frame with a body of n bytes takes on the
// line: header, body, tag if any, CRC, COBS, delimiter.
func wireLen(n int, tagged bool) int {
	f := frame.Frame{Type: frame.TypeEvent, Flags: frame.FlagFromDevice, Seq: 70000, Ack: 9, Body: make([]byte, n)}
	for i := range f.Body {
		f.Body[i] = byte(i | 1) // CBOR bodies are mostly non-zero; a worst case adds bytes per 254
	}
	var a *frame.Auth
	if tagged {
		a = &frame.Auth{Epoch: 1, Key: make([]byte, frame.KeyLen), DeviceBoot: 1, GatewayBoot: 2}
	}
	b, _ := frame.Append(nil, f, a)
	return len(b)
}

// BenchmarkEvent64Theory reports what 64-byte events cost on the wire and
// how many one 115200-baud port carries (8N1: 11 520 bytes/s), with and
// without the HMAC tag. The reverse direction carries the ACKs, so it
// does not take from this budget.
func BenchmarkEvent64Theory(b *testing.B) {
	for _, tagged := range []bool{false, true} {
		b.Run(fmt.Sprintf("tagged=%v", tagged), func(b *testing.B) {
			w := 0
			for range b.N {
				w = wireLen(64, tagged)
			}
			b.ReportMetric(float64(w), "wire-B/event")
			b.ReportMetric(64/float64(w), "efficiency")
			b.ReportMetric(11520/float64(w), "events/s@115200")
			b.ReportMetric(960/float64(w), "events/s@9600")
		})
	}
}

// BenchmarkCodec64 is the CPU to encode a 64-byte EVENT into wire bytes
// and decode it again (frame and CBOR), without I/O.
func BenchmarkCodec64(b *testing.B) {
	ev := msg.Event{ID: msg.EventID{Boot: 1, Seq: 70000}, Kind: "punch", Time: 1764000000000, Clock: msg.ClockSet, Data: event64()}
	var buf []byte
	b.ReportAllocs()
	for range b.N {
		f, _ := msg.Frame(&ev, 70000, 9)
		buf, _ = frame.Append(buf[:0], f, nil)
		g, err := frame.Decode(buf)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := msg.Decode(g); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingPort counts the read and write calls on the gateway's port: each
// is one system call on a serialport.Port.
type countingPort struct {
	io.ReadWriteCloser
	reads, writes atomic.Int64
}

func (c *countingPort) Read(p []byte) (int, error) { c.reads.Add(1); return c.ReadWriteCloser.Read(p) }
func (c *countingPort) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.ReadWriteCloser.Write(p)
}

// BenchmarkPTY64 sends b.N 64-byte events from the emulated firmware to
// the gateway link through a real PTY (gateway end opened with
// devices/serialport), committed to an in-memory journal, and reports
// events per second, frames per second both ways, CPU per event (both
// ends, one process), the measured link efficiency, and the gateway's
// read and write calls on the port and frames sent (acknowledgements) per
// event. A PTY has no baud
// rate: this is the software's ceiling, not the line's.
//
//	go test ./firmware-bridge/link -run '^$' -bench 'PTY64|Theory|Codec64' -benchtime 20000x
func BenchmarkPTY64(b *testing.B) {
	j := new(linktest.Journal)
	cfg := link.GatewayConfig{Sink: j, Store: j}
	g, err := link.NewGateway(cfg)
	if err != nil {
		b.Fatal(err)
	}
	o := emuOpts(nil, b.TempDir())
	o.Timing = link.Timing{}
	o.Capacity = b.N + 1
	e, err := newEmuB(o)
	if err != nil {
		b.Fatal(err)
	}
	l := newLineB(b)
	port := &countingPort{ReadWriteCloser: openGatewayB(b, l)}
	ctx, cancel := context.WithCancel(context.Background())
	gdone, edone := make(chan error, 1), make(chan error, 1)
	go func() { gdone <- g.Run(ctx, port) }()
	go func() { edone <- e.Run(ctx, l.dev) }()
	defer func() { cancel(); <-gdone; <-edone }()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer wcancel()
	if _, err := g.Wait(wctx, func(s link.Status) bool { return s.Online }); err != nil {
		b.Fatal(err)
	}
	d := event64()
	data := make([]map[string]any, b.N)
	for i := range data {
		data[i] = d
	}
	g0, d0 := g.Stats(), e.Link().Stats()
	r0, w0 := port.reads.Load(), port.writes.Load()
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	if _, err := e.EmitMany("punch", data); err != nil {
		b.Fatal(err)
	}
	if err := j.WaitFor(wctx, func(r []link.Record) bool { return len(r) >= b.N }); err != nil {
		b.Fatal(err)
	}
	el, cpu := time.Since(t0), cpuTime()-cpu0
	b.StopTimer()
	g1, d1 := g.Stats(), e.Link().Stats()
	r1, w1 := port.reads.Load(), port.writes.Load()
	var body int
	for _, ev := range j.Events() {
		bb, _ := msg.Marshal(&ev)
		body += len(bb)
	}
	frames := (g1.FramesIn - g0.FramesIn) + (d1.FramesIn - d0.FramesIn)
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(frames)/el.Seconds(), "frames/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(d1.WireOut-d0.WireOut)/float64(b.N), "wire-B/event")
	b.ReportMetric(float64(body)/float64(d1.WireOut-d0.WireOut), "efficiency")
	b.ReportMetric(float64(g1.WireOut-g0.WireOut)/float64(b.N), "ack-B/event")
	b.ReportMetric(float64(r1-r0)/float64(b.N), "gw-reads/event")
	b.ReportMetric(float64(w1-w0)/float64(b.N), "gw-writes/event")
	b.ReportMetric(float64(g1.FramesOut-g0.FramesOut)/float64(b.N), "gw-frames/event")
}
