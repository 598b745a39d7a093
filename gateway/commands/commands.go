// Package commands owns command handling: each command is answered exactly
// once. Each command arriving over MQTT is validated, deduplicated by id
// durably (a repeated id gets the first result again and never executes twice,
// also across a restart), refused once expired, routed to its device, and
// answered exactly once through the journal.
//
// Commands flow through three kinds of goroutine, so that nothing waits for
// something it does not depend on (MQTT.md §6, "Queues"):
//
//   - the dispatcher (Run) reads inbound commands and decides in memory:
//     refuse (unreadable, retained, invalid, repeated, expired, unknown
//     device or command) or queue on the command's lane. It never waits for
//     the disk, only for the answerer when that is a full queue behind.
//   - one lane per device, and one for the gateway's own commands, each a
//     bounded queue (Options.QueuePerDev) and a worker that journals the
//     command's marker, executes it and journals its result. A full lane
//     answers busy at once. A slow device, or a flood of commands for one,
//     delays only its own lane.
//   - the answerer journals the dispatcher's refusals in batches, one
//     commit for as many as are waiting: a flood of refusals costs a few
//     commits, not one each.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/uplink"
)

// Router executes commands on devices; the gateway implements it over its
// drivers. Execute must honour ctx (its deadline is the command's expires_at).
type Router interface {
	// Check says whether device ("" for the gateway itself) exists and
	// takes the command name, before the command is queued: nil, or an error
	// wrapping ErrUnknownDevice (answered error) or ErrUnsupported (answered
	// unsupported). It is called on the dispatcher and must not block.
	Check(device, name string) error
	Execute(ctx context.Context, req Request) Outcome
}

// Errors a Router's Check wraps.
var (
	ErrUnknownDevice = errors.New("unknown device")
	ErrUnsupported   = errors.New("unsupported command")
)

// Request is one command to execute. ID is the command's id: passing it on to
// the device lets a device's durable answer be matched to it after a restart.
type Request struct {
	ID     string
	Device string // "" for the gateway itself
	Name   string
	Args   json.RawMessage // a JSON object
}

// Outcome is what executing a command produced.
type Outcome struct {
	Status string // envelope.StatusOK, StatusError, StatusUnsupported, StatusBusy
	Error  string
	Data   any
}

// ErrRetained is the error a retained command is answered with: it was
// published some time ago, and a door must not open an hour late.
var ErrRetained = errors.New("retained command refused, not executed: publish commands without the retain flag (MQTT.md §6)")

// Keep is how long results are kept for answering repeated ids: a command can
// be valid for at most envelope.MaxTTL, plus a margin for clock differences.
const Keep = envelope.MaxTTL + time.Hour

// Stream is the journal stream the processor uses (markers and results).
var Stream = journal.Stream{Name: "results", Priority: journal.PriorityControl, Keep: Keep}

// Options configure a Processor.
type Options struct {
	Gateway string
	Now     func() time.Time
	Log     *zerolog.Logger
	// QueuePerDev is how many commands may wait per device (and for the
	// gateway's own commands) besides the one executing; one more is
	// answered busy. Default 16.
	QueuePerDev int
	// OnMalformed, if set, counts commands that could not be answered (no
	// readable id, or no valid command name in the topic).
	OnMalformed func()
}

// Queue sizes of the answerer.
const (
	// answerQueue is how many refusals may wait for the answerer before the
	// dispatcher waits: a few commits' worth.
	answerQueue = 4096
	// answerBatchBytes bounds one batch of results, a quarter of the
	// journal's default MaxBatchBytes: a flood of refusals is answered
	// about a thousand per commit. A journal configured with smaller commits
	// gets the batch in halves.
	answerBatchBytes = 256 << 10
)

// Processor handles commands.
type Processor struct {
	// Immutable.
	j       *journal.Journal
	router  Router
	opt     Options
	log     zerolog.Logger
	answers chan *envelope.Result // the dispatcher's refusals, to the answerer
	wg      sync.WaitGroup        // the lanes' workers

	mu sync.Mutex
	// Guarded by mu.
	seen  map[string]*entry
	lanes map[string]chan job // by device, "" the gateway
	quiet logLimit            // unreadable commands' log lines
	run   context.Context     // Run's, while it runs (the lanes' workers live in it); nil otherwise
}

type entry struct {
	result  *envelope.Result // nil while queued or executing
	expires time.Time
}

type job struct {
	id      string
	device  string
	name    string
	args    json.RawMessage
	expires time.Time
	reply   chan<- Outcome // 1-buffered, Do's: told the outcome once decided; nil for MQTT commands
}

// New rebuilds the processor's memory of command ids from the journal. A
// command marked received without a result was interrupted by a restart: it is
// answered now with an error, never executed again.
func New(ctx context.Context, j *journal.Journal, router Router, o Options) (*Processor, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.QueuePerDev == 0 {
		o.QueuePerDev = 16
	}
	p := &Processor{j: j, router: router, opt: o, seen: map[string]*entry{}, lanes: map[string]chan job{},
		answers: make(chan *envelope.Result, answerQueue)}
	p.log = zerolog.Nop()
	if o.Log != nil {
		p.log = *o.Log
	}
	markers := map[string]*envelope.Marker{}
	answered := map[string]*envelope.Result{} // by devices, before a restart
	var order []string
	err := j.Replay(ctx, Stream.Name, func(rec journal.Record) error {
		ob, err := envelope.DecodeOutbound(rec.Body)
		if err != nil {
			p.log.Error().Err(err).Uint64("seq", rec.Seq).Msg("commands: unreadable command log record skipped")
			return nil
		}
		switch {
		case ob.Marker != nil && ob.Marker.Result != nil:
			answered[ob.Marker.Command] = ob.Marker.Result
		case ob.Marker != nil:
			if _, done := p.seen[ob.Marker.Command]; !done {
				markers[ob.Marker.Command] = ob.Marker
				order = append(order, ob.Marker.Command)
			}
		case ob.Result != nil:
			p.seen[ob.Result.ID] = &entry{result: ob.Result, expires: rec.Time.Add(Keep)}
			delete(markers, ob.Result.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("commands: replay the command log: %w", err)
	}
	for _, id := range order {
		m, ok := markers[id]
		if !ok {
			continue
		}
		r := p.result(id, m.Device, m.Name, Outcome{Status: envelope.StatusError,
			Error: "outcome unknown: the gateway restarted while executing this command; it was not executed again"})
		if dr := answered[id]; dr != nil {
			// The device had answered and its answer was durable: that is the result.
			c := *dr
			c.Command, c.Gateway = m.Name, o.Gateway
			r = &c
		}
		if err := p.answer(ctx, r); err != nil {
			return nil, err
		}
		p.seen[id] = &entry{result: r, expires: o.Now().Add(Keep)}
	}
	return p, nil
}

// Run handles commands from in until ctx ends, then waits for executions in
// progress (their contexts end with ctx) and journals the refusals still
// waiting. Commands still queued are dropped unexecuted and unmarked: sent
// again (same id) after a restart, they run then.
func (p *Processor) Run(ctx context.Context, in <-chan uplink.Inbound) error {
	answered := make(chan struct{})
	go func() { defer close(answered); p.answerer() }()
	p.mu.Lock()
	p.run = ctx
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.run = nil // no lane starts after this: Do refuses
		p.mu.Unlock()
		p.wg.Wait()
		close(p.answers) // only the dispatcher sends, and it has returned
		<-answered
	}()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-in:
			p.dispatch(ctx, c)
		case <-tick.C:
			p.forget()
			p.unreadableSummary()
		}
	}
}

// forget drops ids whose results no longer need to be remembered.
func (p *Processor) forget() {
	now := p.opt.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.seen {
		if e.result != nil && now.After(e.expires) {
			delete(p.seen, id)
		}
	}
}

// dispatch decides what to do with one inbound command, in memory: it never
// waits for execution or for the disk (MQTT.md §6, the rules in order).
func (p *Processor) dispatch(ctx context.Context, in uplink.Inbound) {
	now := p.opt.Now()
	cmd, perr := envelope.ParseCommand(in.Payload, now)
	if in.Err != nil || perr != nil || in.Retained {
		var reason error
		switch {
		case in.Err != nil:
			reason = in.Err
		case in.Retained:
			reason = ErrRetained
		default:
			reason = perr
		}
		var id string
		if perr == nil {
			id = cmd.ID
		} else {
			id = envelope.AnswerableID(in.Payload)
		}
		dev, name := in.Device, in.Name
		if in.Err != nil {
			// The topic is not trusted: answer on the gateway's results
			// topic, naming the command if its level is a valid name.
			dev, name = "", in.Topic[strings.LastIndexByte(in.Topic, '/')+1:]
			if envelope.CheckLevel("command name", name) != nil {
				name = ""
			}
		}
		if id == "" || name == "" {
			p.unreadable(in, reason)
			return
		}
		p.once(ctx, id, dev, name, Outcome{Status: envelope.StatusError, Error: reason.Error()})
		return
	}
	p.mu.Lock()
	if e, ok := p.seen[cmd.ID]; ok {
		first := e.result // written by finish under mu
		p.mu.Unlock()
		if first != nil {
			// The first result again, as it was: QoS 1 redelivered the command,
			// or the sender retried.
			p.queueAnswer(ctx, first)
		}
		return // still queued or executing: its one result is on its way
	}
	p.mu.Unlock()
	if !cmd.ExpiresAt.After(now) {
		p.once(ctx, cmd.ID, in.Device, in.Name, Outcome{Status: envelope.StatusExpired,
			Error: fmt.Sprintf("expired at %s, received at %s", cmd.ExpiresAt.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))})
		return
	}
	if err := p.router.Check(in.Device, in.Name); err != nil {
		out := Outcome{Status: envelope.StatusError, Error: err.Error()}
		if errors.Is(err, ErrUnsupported) {
			out.Status = envelope.StatusUnsupported
		}
		p.once(ctx, cmd.ID, in.Device, in.Name, out)
		return
	}
	p.queue(ctx, job{id: cmd.ID, device: in.Device, name: in.Name, args: cmd.Args, expires: *cmd.ExpiresAt})
}

// queue puts jb on its device's lane, starting the lane's worker in ctx
// if it has none, or answers busy when the lane is full.
func (p *Processor) queue(ctx context.Context, jb job) {
	p.mu.Lock()
	lane, ok := p.lanes[jb.device]
	if !ok {
		lane = make(chan job, p.opt.QueuePerDev)
		p.lanes[jb.device] = lane
		p.wg.Add(1)
		go p.worker(ctx, lane)
	}
	select {
	case lane <- jb:
		p.seen[jb.id] = &entry{expires: jb.expires}
		p.mu.Unlock()
	default:
		p.mu.Unlock()
		who := fmt.Sprintf("device %q", jb.device)
		if jb.device == "" {
			who = "the gateway"
		}
		out := Outcome{Status: envelope.StatusBusy, Error: fmt.Sprintf("%s has %d commands waiting; nothing done", who, p.opt.QueuePerDev)}
		p.once(ctx, jb.id, jb.device, jb.name, out)
		jb.tell(out)
	}
}

// tell gives Do its command's outcome.
func (jb job) tell(out Outcome) {
	if jb.reply != nil {
		jb.reply <- out
	}
}

// ErrNotRunning is Do's error while the processor does not run.
var ErrNotRunning = errors.New("commands: the command processor is not running")

// Do runs a command issued on the gateway itself (the web console, the
// admin socket) exactly as one received over MQTT (MQTT.md §6): the
// router's check, the device's lane, the durable marker, execution until
// expires, and one result journaled — so published on the results topic
// like any other — under req.ID, which must be new (a fresh envelope.NewID
// with a prefix naming the origin). It returns the outcome once decided;
// if ctx ends first, the command goes on (or expires) and its result is
// published all the same, and Do returns ctx's error.
func (p *Processor) Do(ctx context.Context, req Request, expires time.Time) (Outcome, error) {
	if len(req.Args) == 0 {
		req.Args = json.RawMessage("{}")
	}
	p.mu.Lock()
	run := p.run
	_, dup := p.seen[req.ID]
	p.mu.Unlock()
	switch {
	case run == nil:
		return Outcome{}, ErrNotRunning
	case dup:
		return Outcome{}, fmt.Errorf("commands: command id %q was used before", req.ID)
	}
	if err := envelope.CheckLevel("command name", req.Name); err != nil {
		return Outcome{}, fmt.Errorf("commands: %w", err)
	}
	if !expires.After(p.opt.Now()) {
		out := Outcome{Status: envelope.StatusExpired, Error: "expired before it was issued"}
		p.once(run, req.ID, req.Device, req.Name, out)
		return out, nil
	}
	if err := p.router.Check(req.Device, req.Name); err != nil {
		out := Outcome{Status: envelope.StatusError, Error: err.Error()}
		if errors.Is(err, ErrUnsupported) {
			out.Status = envelope.StatusUnsupported
		}
		p.once(run, req.ID, req.Device, req.Name, out)
		return out, nil
	}
	reply := make(chan Outcome, 1)
	p.queue(run, job{id: req.ID, device: req.Device, name: req.Name, args: req.Args, expires: expires, reply: reply})
	select {
	case out := <-reply:
		return out, nil
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	case <-run.Done():
		return Outcome{}, ErrNotRunning
	}
}

// worker executes one lane's commands in arrival order.
func (p *Processor) worker(ctx context.Context, jobs <-chan job) {
	defer p.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case jb := <-jobs:
			p.execute(ctx, jb)
			if ctx.Err() != nil {
				return // shutting down: the marker makes the next start answer it
			}
		}
	}
}

func (p *Processor) execute(ctx context.Context, jb job) {
	if !p.opt.Now().Before(jb.expires) {
		jb.tell(p.finish(ctx, jb.id, jb.device, jb.name, Outcome{Status: envelope.StatusExpired, Error: "expired while waiting for the device"}))
		return
	}
	// Durable before execution: after a crash the id is known and is
	// answered, never executed again.
	body, _ := (&envelope.Outbound{Marker: &envelope.Marker{Command: jb.id, Device: jb.device, Name: jb.name,
		ExpiresMs: jb.expires.UnixMilli()}}).Encode()
	if _, err := p.j.Append(ctx, Stream.Name, body); err != nil {
		if ctx.Err() != nil {
			return
		}
		p.mu.Lock()
		delete(p.seen, jb.id) // nothing happened: a retry may execute it
		p.mu.Unlock()
		p.log.Error().Err(err).Str("command", jb.id).Msg("commands: could not record a command; answering busy")
		out := Outcome{Status: envelope.StatusBusy, Error: "gateway cannot record the command: " + err.Error()}
		if err := p.answer(ctx, p.result(jb.id, jb.device, jb.name, out)); err != nil {
			p.log.Error().Err(err).Str("command", jb.id).Msg("commands: could not journal a result")
		}
		jb.tell(out)
		return
	}
	ectx, cancel := context.WithDeadline(ctx, jb.expires)
	out := p.router.Execute(ectx, Request{ID: jb.id, Device: jb.device, Name: jb.name, Args: jb.args})
	cancel()
	if ctx.Err() != nil {
		return
	}
	jb.tell(p.finish(ctx, jb.id, jb.device, jb.name, out))
}

// finish journals out as the command's result and returns it as
// published (an outcome whose data cannot be encoded is an error).
func (p *Processor) finish(ctx context.Context, id, device, name string, out Outcome) Outcome {
	r := p.result(id, device, name, out)
	if r.Status != out.Status {
		out = Outcome{Status: r.Status, Error: r.Error}
	}
	p.mu.Lock()
	if e := p.seen[id]; e != nil {
		e.result = r
	}
	p.mu.Unlock()
	if err := p.answer(ctx, r); err != nil {
		p.log.Error().Err(err).Str("command", id).Msg("commands: could not journal a result")
	}
	return out
}

// once answers a command that is not executed (malformed, retained,
// expired, unknown device or command, busy), remembering the answer so a
// repeat gets the same one.
func (p *Processor) once(ctx context.Context, id, device, name string, out Outcome) {
	p.mu.Lock()
	if e, ok := p.seen[id]; ok {
		first := e.result // written by finish under mu
		p.mu.Unlock()
		if first != nil {
			p.queueAnswer(ctx, first)
		}
		return
	}
	r := p.result(id, device, name, out)
	p.seen[id] = &entry{result: r, expires: p.opt.Now().Add(Keep)}
	p.mu.Unlock()
	p.queueAnswer(ctx, r)
}

// queueAnswer hands a result to the answerer; past the answerer's queue the
// dispatcher waits (backpressure on the broker, not memory). When stopping,
// it journals the result itself.
func (p *Processor) queueAnswer(ctx context.Context, r *envelope.Result) {
	select {
	case p.answers <- r:
	case <-ctx.Done():
		p.journalAnswers([]*envelope.Result{r})
	}
}

// answerer journals the queued results, as many per commit as are waiting,
// until the queue is closed and empty.
func (p *Processor) answerer() {
	size := func(r *envelope.Result) int { return len(r.Error) + len(r.ID) + len(r.Data) + 128 }
	for r := range p.answers {
		batch, n := []*envelope.Result{r}, size(r)
	more:
		for n < answerBatchBytes {
			select {
			case r, ok := <-p.answers:
				if !ok {
					break more
				}
				batch, n = append(batch, r), n+size(r)
			default:
				break more
			}
		}
		p.journalAnswers(batch)
	}
}

// journalAnswers appends results in one commit; a result that cannot be
// journaled is forgotten, so that a repeat of its command is answered anew.
func (p *Processor) journalAnswers(rs []*envelope.Result) {
	bodies := make([][]byte, 0, len(rs))
	var ok []*envelope.Result
	for _, r := range rs {
		b, err := (&envelope.Outbound{Result: r}).Encode()
		if err != nil {
			p.log.Error().Err(err).Str("command", r.ID).Msg("commands: could not encode a result")
			p.forgetResult(r)
			continue
		}
		bodies, ok = append(bodies, b), append(ok, r)
	}
	if len(bodies) == 0 {
		return
	}
	p.appendAnswers(bodies, ok)
}

// appendAnswers journals bodies (the results rs) in one commit, or in halves
// if the journal's commits are smaller.
func (p *Processor) appendAnswers(bodies [][]byte, rs []*envelope.Result) {
	// A result must not be lost to a cancelled context: it is the one answer.
	_, err := p.j.AppendBatch(context.Background(), Stream.Name, bodies)
	if errors.Is(err, journal.ErrTooLarge) && len(bodies) > 1 {
		h := len(bodies) / 2
		p.appendAnswers(bodies[:h], rs[:h])
		p.appendAnswers(bodies[h:], rs[h:])
		return
	}
	if err != nil {
		p.log.Error().Err(err).Int("results", len(rs)).Str("command", rs[0].ID).Msg("commands: could not journal results")
		for _, r := range rs {
			p.forgetResult(r)
		}
	}
}

func (p *Processor) forgetResult(r *envelope.Result) {
	p.mu.Lock()
	if e := p.seen[r.ID]; e != nil && e.result == r {
		delete(p.seen, r.ID)
	}
	p.mu.Unlock()
}

func (p *Processor) result(id, device, name string, out Outcome) *envelope.Result {
	data, err := envelope.EncodeData(out.Data)
	if err != nil {
		out = Outcome{Status: envelope.StatusError, Error: "result data cannot be encoded: " + err.Error()}
		data = nil
	}
	return &envelope.Result{V: envelope.Version, ID: id, Gateway: p.opt.Gateway, Device: device, Command: name,
		Status: out.Status, Error: errorText(out), Time: envelope.StampOf(p.opt.Now().UTC()), Data: data}
}

func (p *Processor) answer(ctx context.Context, r *envelope.Result) error {
	body, err := (&envelope.Outbound{Result: r}).Encode()
	if err != nil {
		return fmt.Errorf("commands: encode result %s: %w", r.ID, err)
	}
	// A result must not be lost to a cancelled context: it is the one answer.
	_, err = p.j.Append(context.WithoutCancel(ctx), Stream.Name, body)
	return err
}

// maxErrorLen is result.json's bound on "error".
const maxErrorLen = 1024

// errorText is the result's error: bounded, valid UTF-8, and never empty
// when the status is not ok (result.json requires it then).
func errorText(out Outcome) string {
	e := strings.ToValidUTF8(out.Error, "\uFFFD")
	if e == "" && out.Status != envelope.StatusOK {
		e = "no reason given (status " + out.Status + ")"
	}
	if len(e) > maxErrorLen {
		e = e[:maxErrorLen]
		for !utf8.ValidString(e) {
			e = e[:len(e)-1]
		}
	}
	return e
}
