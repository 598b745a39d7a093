package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/officegate/officegate/gateway/envelope"
)

// runE2E runs the phases in order, on one broker, one subscriber and one
// fleet of devices:
//
//  1. links up: one event per device, so every link has done its handshake;
//  2. latency: cfg.Rate events/s offered for cfg.LatencyFor, each carrying
//     its emit time; then raw paho publishes the same messages at the same
//     rate, each stamped at its publish call (e2e_peerlat.go);
//  3. throughput: every device kept busy; the gateway's events/s and CPU
//     per event over cfg.SaturateFor; the messages are recorded;
//  4. raw paho publishes the recorded messages: msg/s and CPU per message;
//  5. drain: broker stopped, cfg.Backlog events into the journal, broker
//     restarted; the gateway's drain rate, then raw paho's on the same
//     messages;
//  6. the gateway's peak RSS, then it stops;
//  7. restart: a new gateway on a journal holding cfg.RestartBacklog events;
//     process start to first event at the subscriber.
//
// Every phase checks that each event it produced arrived, by id.
func runE2E(ctx context.Context, cfg e2eConfig, progress io.Writer) (e2eResult, error) {
	r := e2eResult{Devices: cfg.Devices, DeviceMode: cfg.DeviceMode, Inflight: cfg.Inflight, SyncWindowMs: ms(cfg.SyncWindow)}
	bin, err := findMosquitto(cfg.Mosquitto)
	if err != nil {
		return r, err
	}
	work, emuDir, exe, cleanup, err := workspace(cfg.Dir, "bench-e2e-")
	if err != nil {
		return r, err
	}
	defer cleanup()
	var gwPID int // the first gateway while it runs, for its memory in the progress lines
	step := func(f string, a ...any) {
		line := fmt.Sprintf(f, a...)
		if gwPID != 0 {
			anon, file, err1 := rssOf(gwPID)
			peak, err2 := peakRSSOf(gwPID)
			if err1 == nil && err2 == nil {
				line += fmt.Sprintf(" [gateway RSS now: anon %.1f MB, file %.1f MB; peak %.1f MB]", mb(anon), mb(file), mb(peak))
			}
		}
		fmt.Fprintln(progress, "e2e: "+line)
	}

	b, err := startBroker(bin, work)
	if err != nil {
		return r, err
	}
	defer b.stop()
	// Punches only: the gateway also journals device.status events of its own.
	sub := newSubscriber(b.url, envelope.Topics{Root: "officegate", Gateway: benchGateway}.Event("+", "attendance.punch"))
	if err := benchSide("subscriber", sub.connect); err != nil {
		return r, err
	}
	defer func() { sub.disconnect() }()
	var fl *fleet
	err = benchSide("devices", func() (err error) { fl, err = startFleet(cfg.DeviceMode, emuDir, cfg.Devices); return err })
	if err != nil {
		return r, err
	}
	defer fl.stop()
	bin, profiling, err := gatewayBinary(ctx, cfg.Officegate, work)
	if err != nil {
		return r, err
	}
	r.GatewayBinary = bin
	if cfg.Officegate == "" {
		r.GatewayBinary = "officegate, built by the bench (-trimpath -ldflags='-s -w' -tags benchprofile)"
	}
	if fi, err := os.Stat(bin); err == nil {
		r.GatewayBinaryMB = mb(uint64(fi.Size()))
	}
	if !profiling && (cfg.Profile != "" || cfg.MemProfile != "") {
		return r, fmt.Errorf("bench: %s has no profiling hooks (build it with -tags benchprofile): no -cpuprofile or -memprofile", bin)
	}
	stageProf := filepath.Join(work, "stages.pprof")
	sp := gatewaySpec{bin: bin, profiling: profiling, broker: b.url, state: filepath.Join(work, "gateway"), devices: fl.ports(), cpuProf: stageProf}
	for dst, path := range map[*string]string{&sp.cpuProf: cfg.Profile, &sp.heapProf: cfg.MemProfile} {
		if path != "" {
			abs, err := filepath.Abs(path)
			if err != nil {
				return r, err
			}
			*dst = abs
		}
	}
	gw, err := startGateway(ctx, cfg, sp)
	if err != nil {
		return r, err
	}
	defer gw.stop()
	if cfg.Profile != "" {
		// The whole run of this gateway: opened now, closed before it stops.
		if err := gw.signalLine(ctx, syscall.SIGUSR1, "profiling"); err != nil {
			return r, err
		}
	}
	gwPID = gw.pid()

	// 1. Links up.
	step("%d devices: waiting for every link", cfg.Devices)
	sub.reset(0)
	m := fl.mark()
	for i := range cfg.Devices {
		if err := fl.emit(i); err != nil {
			return r, err
		}
	}
	if _, err := sub.waitIDs(ctx, "links up", fl.since(m), phaseTimeout); err != nil {
		return r, err
	}

	// 1b. Idle: every link up, the devices only keep them alive.
	if cfg.Idle > 0 {
		step("idle: %d devices connected, heartbeats only, %v settling then %v measured", cfg.Devices, cfg.Warmup, cfg.Idle)
		if err := sleep(ctx, cfg.Warmup); err != nil {
			return r, err
		}
		idle, err := measureIdle(ctx, cfg, gw, stageProf, cfg.Idle)
		if err != nil {
			return r, err
		}
		r.Idle = &idle
		if cfg.IdleOnly {
			gwPID = 0
			if err := gw.stop(); err != nil {
				return r, fmt.Errorf("bench: gateway child: %w", err)
			}
			return r, nil
		}
	}

	// 2. Latency.
	step("latency: %g events/s offered for %v", cfg.Rate, cfg.LatencyFor)
	sub.reset(recordCap) // the peer publishes them next
	m = fl.mark()
	t0 := time.Now()
	if err := fl.paced(ctx, cfg.Rate, cfg.LatencyFor); err != nil {
		return r, err
	}
	offered := time.Since(t0)
	want := fl.since(m)
	if _, err := sub.waitIDs(ctx, "latency", want, phaseTimeout); err != nil {
		return r, err
	}
	r.OfferedPerS = round(float64(len(want))/offered.Seconds(), 0)
	r.setLatency(distOf(sub.latencies()))
	r.Duplicates += sub.sample().dups

	// 2b. The peer's latency: raw paho, the same messages at the same rate.
	latMsgs := sub.stopRecording()
	step("raw paho: the same %d messages at %g/s, each stamped at its publish call", len(latMsgs), cfg.Rate)
	rr, rs, err := runRaw(ctx, exe, work, cfg, childRawLatency, b.url, sub, latMsgs)
	if err != nil {
		return r, err
	}
	r.setRawLatency(distOf(sub.latencies()), rr.OfferedPerS)
	r.Duplicates += rs.dups

	// 3. Throughput, saturated.
	step("throughput: devices kept busy, %v warm-up, %v measured", cfg.Warmup, cfg.SaturateFor)
	sub.reset(0)
	m = fl.mark()
	satCtx, stopSat := context.WithCancel(ctx)
	satDone := make(chan error, 1)
	go func() { satDone <- benchSide("devices", func() error { return fl.saturate(satCtx) }) }()
	stopSaturating := func() error { stopSat(); return <-satDone }
	if err := sleep(ctx, cfg.Warmup); err != nil {
		stopSaturating()
		return r, err
	}
	win, err := openStageWindow(ctx, cfg, gw, stageProf)
	if err != nil {
		stopSaturating()
		return r, err
	}
	mb0, mt0, merr0 := machineCPU()
	var benchProf bytes.Buffer
	benchProfiling := pprof.StartCPUProfile(&benchProf) == nil // a -cpuprofile of the bench itself may hold the profiler
	bench0 := selfCPU()
	s0, cpu0, err := measurePoint(sub, gw.pid())
	if err != nil {
		stopSaturating()
		return r, err
	}
	sub.record(recordCap)
	serr := sleep(ctx, cfg.SaturateFor)
	s1, cpu1, err := measurePoint(sub, gw.pid())
	bench1 := selfCPU()
	if benchProfiling {
		pprof.StopCPUProfile()
	}
	mb1, mt1, merr1 := machineCPU()
	msgs := sub.stopRecording()
	shares, werr := win.close(ctx)
	if werr == nil {
		werr = keepHeapProfile(cfg, win, "saturated")
	}
	if err := firstErr(stopSaturating(), serr, err, werr, merr0, merr1); err != nil {
		return r, err
	}
	sm, err := sub.waitIDs(ctx, "throughput", fl.since(m), phaseTimeout)
	if err != nil {
		// The gateway's guarantee ends at the broker's PUBACK. If its journal is
		// empty and nothing was shed, every event reached the broker, and what
		// the subscriber lacks was lost between the broker and it: report that
		// as its own figure instead of calling it the gateway's loss.
		diag := gatewayDiagnosis()
		if !gatewayDelivered(diag) {
			return r, fmt.Errorf("%w\ngateway then: %s", err, diag)
		}
		r.SubscriberMissing = sub.missing(fl.since(m))
		fmt.Fprintf(os.Stderr, "e2e: WARNING: %v\ne2e: the gateway's journal is empty and nothing was shed: every event was acknowledged by the broker; the gap is between the broker and the subscriber (gateway: %s)\n", err, diag)
		sm = sub.sample()
	}
	r.Duplicates += sm.dups
	events := s1.count - s0.count
	if events <= 0 || len(msgs) == 0 {
		return r, fmt.Errorf("bench: throughput: no event arrived in %v", cfg.SaturateFor)
	}
	r.GatewayEventsPerS = round(float64(events)/s1.at.Sub(s0.at).Seconds(), 0)
	r.GatewayCPUUs = round(float64((cpu1-cpu0).Microseconds())/float64(events), 1)
	r.StagesCPUUs = scaleShares(shares, r.GatewayCPUUs)
	r.BenchCPUUs = round(float64((bench1-bench0).Microseconds())/float64(events), 1)
	if benchProfiling {
		shares, err := labelShares(&benchProf, "side")
		if err != nil {
			return r, err
		}
		r.BenchSidesCPUUs = scaleShares(shares, r.BenchCPUUs)
	}
	if mt1 > mt0 {
		r.MachineBusyPct = round(100*float64(mb1-mb0)/float64(mt1-mt0), 0)
	}

	// 4. Raw paho, the same messages.
	step("raw paho: %d of those messages, window %d", len(msgs), cfg.Inflight)
	rr, rs, err = runRaw(ctx, exe, work, cfg, "raw", b.url, sub, msgs)
	if err != nil {
		return r, err
	}
	r.RawMsgsPerS = round(spanRate(rs), 0)
	r.RawCPUUs = round(rr.CPUSec*1e6/float64(rr.Published), 1)
	r.RawRSSMB = rr.RSSMB
	r.ThroughputRatio = round(r.GatewayEventsPerS/r.RawMsgsPerS, 2)
	r.CPURatio = round(r.GatewayCPUUs/r.RawCPUUs, 2)

	// 5. Drain after an outage.
	step("drain: broker stopped, %d events into the journal, broker restarted", cfg.Backlog)
	sub.disconnect()
	b.stop()
	m = fl.mark()
	if err := fl.burst(cfg.Backlog); err != nil {
		return r, err
	}
	if err := fl.waitHeld0(ctx, phaseTimeout); err != nil {
		return r, err
	}
	sub.reset(cfg.Backlog)
	// The subscriber must be back before the gateway: the restarted broker
	// has no session for it and would drop what the gateway publishes. The
	// gateway keeps retrying meanwhile, so it is held (SIGSTOP; its backlog
	// is durable, its devices idle) until the subscriber has subscribed.
	if err := gw.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		return r, err
	}
	dcpu0, err := procCPU(gw.pid())
	if err != nil {
		return r, err
	}
	err = b.start()
	if err == nil {
		err = benchSide("subscriber", sub.connect)
	}
	if cerr := gw.cmd.Process.Signal(syscall.SIGCONT); err == nil {
		err = cerr
	}
	if err != nil {
		return r, err
	}
	up := time.Now()
	sm, err = sub.waitIDs(ctx, "drain", fl.since(m), phaseTimeout)
	if err != nil {
		return r, err
	}
	dcpu1, err := procCPU(gw.pid())
	if err != nil {
		return r, err
	}
	drained := sub.stopRecording()
	r.Duplicates += sm.dups
	r.DrainEvents = sm.unique
	r.ReconnectMs = ms(sm.first.Sub(up))
	r.GatewayDrainPerS = round(spanRate(sm), 0)
	step("raw paho: the same %d messages", len(drained))
	rr, rs, err = runRaw(ctx, exe, work, cfg, "raw", b.url, sub, drained)
	if err != nil {
		return r, err
	}
	r.RawDrainPerS = round(spanRate(rs), 0)
	// The uplink's share alone: journal → render → paho, nothing from the
	// devices (they are idle), against raw paho on the same messages.
	r.DrainCPUUs = round(float64((dcpu1-dcpu0).Microseconds())/float64(len(drained)), 1)
	r.DrainCPURatio = round(r.DrainCPUUs/(rr.CPUSec*1e6/float64(rr.Published)), 2)
	r.DrainRatio = round(r.GatewayDrainPerS/r.RawDrainPerS, 2)

	// 6. Peak RSS of the gateway that ran all of the above.
	if cfg.Profile != "" || cfg.MemProfile != "" {
		// Ends the whole-run CPU profile; writes the heap profile.
		if cfg.Profile == "" {
			if err := gw.signalLine(ctx, syscall.SIGUSR1, "profiling"); err != nil {
				return r, err
			}
		}
		if err := gw.signalLine(ctx, syscall.SIGUSR2, "profiled"); err != nil {
			return r, err
		}
	}
	rss, err := peakRSSOf(gw.pid())
	if err != nil {
		return r, err
	}
	anon, file, err := rssOf(gw.pid())
	if err != nil {
		return r, err
	}
	r.RSSMB, r.RSSAnonMB, r.RSSFileMB = mb(rss), mb(anon), mb(file)
	r.DeviceLink = fl.session()
	step("gateway stopping")
	gwPID = 0
	if err := gw.stop(); err != nil {
		return r, fmt.Errorf("bench: gateway child: %w", err)
	}

	// 7. Restart on a backlog.
	step("restart: building a journal of %d undelivered events", cfg.RestartBacklog)
	state := filepath.Join(work, "restart")
	ids, err := buildBacklog(ctx, state, cfg.RestartBacklog, cfg.Devices)
	if err != nil {
		return r, err
	}
	sub.reset(0)
	step("restart: gateway started on it")
	gw2, err := startGateway(ctx, cfg, gatewaySpec{bin: bin, broker: b.url, state: state})
	if err != nil {
		return r, err
	}
	defer gw2.stop()
	sm, ok := sub.waitFor(ctx, phaseTimeout, func(s sample) bool { return s.count > 0 })
	if !ok {
		return r, fmt.Errorf("bench: restart: nothing published within %v", phaseTimeout)
	}
	r.RestartMs = ms(sm.first.Sub(gw2.start))
	// A large backlog (-restart-backlog 1000000, the memory check) takes
	// minutes to drain: a millisecond an event on top of the usual bound.
	sm, err = sub.waitIDs(ctx, "restart", ids, phaseTimeout+time.Duration(cfg.RestartBacklog)*time.Millisecond)
	if err != nil {
		return r, err
	}
	r.Duplicates += sm.dups
	r.RestartEvents = sm.unique
	r.RestartDrainPerS = round(spanRate(sm), 0)
	peak, err := peakRSSOf(gw2.pid())
	if err != nil {
		return r, err
	}
	anon, _, err = rssOf(gw2.pid())
	if err != nil {
		return r, err
	}
	r.RestartRSSMB, r.RestartRSSAnonMB = mb(peak), mb(anon)
	if err := gw2.stop(); err != nil {
		return r, fmt.Errorf("bench: gateway child after restart: %w", err)
	}
	return r, nil
}

// point is the subscriber's count and the time it was taken.
type point struct {
	count int
	at    time.Time
}

func measurePoint(sub *subscriber, pid int) (point, time.Duration, error) {
	cpu, err := procCPU(pid)
	return point{sub.sample().count, time.Now()}, cpu, err
}

// spanRate is messages per second between the first and the last arrival.
func spanRate(s sample) float64 {
	d := s.last.Sub(s.first).Seconds()
	if s.unique < 2 || d <= 0 {
		return 0
	}
	return float64(s.unique-1) / d
}

func mb(b uint64) float64 { return round(float64(b)/(1<<20), 1) }

func ms(d time.Duration) float64 { return round(d.Seconds()*1e3, 2) }

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
