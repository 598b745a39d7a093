package connect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/gateway/connect"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/sinks"
	"github.com/officegate/officegate/internal/natstest"
	"github.com/officegate/officegate/internal/pgtest"
)

// childEnv carries a child's spec: the test binary re-executed runs
// connect as a process of its own, to be killed with SIGKILL.
const childEnv = "OFFICEGATE_CONNECT_TEST_CHILD"

// spec is what a child connect runs.
type spec struct {
	State    string            `json:"state"`
	NATS     []string          `json:"nats"`
	Stream   string            `json:"stream"` // "": connect's default, $MQTT_msgs
	Consumer string            `json:"consumer"`
	AckWait  time.Duration     `json:"ack_wait"`
	PG       map[string]string `json:"pg"`   // postgres sink settings; nil: none
	File     string            `json:"file"` // file sink path; "": none
	MQTT     []string          `json:"mqtt"` // the MQTT source's brokers instead of JetStream
	ClientID string            `json:"client_id"`
	Share    string            `json:"share"`
	Socket   string            `json:"socket"`
	HTTP     string            `json:"http"`
	Webhook  string            `json:"webhook"` // webhook sink URL; "": none
	Shared   bool              `json:"shared"`  // replicas = "shared": every replica fetches
	LeaseTTL time.Duration     `json:"lease_ttl"`
	Replica  string            `json:"replica"` // its name in the lease
}

func TestMain(m *testing.M) {
	if s := os.Getenv(childEnv); s != "" {
		os.Exit(child(s))
	}
	os.Exit(m.Run())
}

func child(s string) int {
	var sp spec
	if err := json.Unmarshal([]byte(s), &sp); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Str("child", filepath.Base(sp.State)).Logger()
	if err := connect.Run(ctx, sp.options(log)); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func (sp spec) options(log zerolog.Logger) connect.Options {
	var sks []connect.Sink
	if sp.PG != nil {
		sks = append(sks, connect.Sink{Name: "pg", Kind: "postgres", Settings: sp.PG})
	}
	if sp.File != "" {
		sks = append(sks, connect.Sink{Name: "file", Kind: "file", Settings: sinks.Settings{"path": sp.File}})
	}
	if sp.Webhook != "" {
		sks = append(sks, connect.Sink{Name: "hook", Kind: "webhook", Settings: sinks.Settings{"url": sp.Webhook, "batch": "50"}})
	}
	if sp.LeaseTTL == 0 {
		sp.LeaseTTL = 2 * time.Second // a killed replica's lease expires quickly
	}
	o := connect.Options{
		StateDir: sp.State, Sinks: sks, KeepEvery: sp.AckWait / 3, Log: log, Socket: sp.Socket, SocketGID: -1, HTTP: sp.HTTP,
		Source: &connect.JetStream{URLs: sp.NATS, Stream: sp.Stream, Consumer: sp.Consumer, AckWait: sp.AckWait,
			Batch: 64, Log: log, BackoffMax: time.Second, Shared: sp.Shared, LeaseTTL: sp.LeaseTTL, Replica: sp.Replica},
	}
	if sp.MQTT != nil {
		o.Source = &connect.MQTT{URLs: sp.MQTT, ClientID: sp.ClientID, ShareGroup: sp.Share, Batch: 64, Log: log, BackoffMax: time.Second}
	}
	return o
}

// startChild runs a child connect; it is killed when the test ends.
func startChild(t *testing.T, sp spec) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(sp)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func kill(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// backbone starts a 3-node cluster set up as docs/nats says: connect's
// consumer of $MQTT_msgs from connect-consumer.json (the stream exists
// once an MQTT client connected: natstest.Start's probes did), and the
// OFFICEGATE stream from officegate-stream.json.
func backbone(t testing.TB) *natstest.Cluster {
	t.Helper()
	c := natstest.Start(t)
	var cfg jetstream.StreamConfig
	readDoc(t, "officegate-stream.json", &cfg)
	cfg.MaxBytes = 512 << 20 // the harness's nodes hold 1 GB each; the week's bytes are production's
	var cons jetstream.ConsumerConfig
	readDoc(t, "connect-consumer.json", &cons)
	js := c.Nodes[0].JetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.CreateConsumer(ctx, connect.MQTTStream, cons); err != nil {
		t.Fatalf("create the consumer of connect-consumer.json: %v", err)
	}
	return c
}

// readDoc reads a JSON file of docs/nats into v.
func readDoc(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "nats", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// punchEvent is a punch as a gateway journals it.
func punchEvent(gw, dev string, boot uint32, seq uint64) envelope.Event {
	data, _ := envelope.EncodeData(map[string]any{"person": fmt.Sprintf("p%d", seq%50), "state": "in"})
	t := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Second)
	return envelope.Event{V: envelope.Version, ID: envelope.EventID(gw+"/"+dev, boot, seq), Type: "attendance.punch",
		Gateway: gw, Device: dev, Boot: boot, Seq: seq, Time: envelope.StampOf(t), TimeRaw: t.Format("2006-01-02 15:04:05"),
		Clock: envelope.ClockSynced, Received: envelope.StampOf(t), Data: data}
}

// event is a punch as a gateway publishes it.
func event(gw, dev string, boot uint32, seq uint64) (topic string, payload []byte) {
	e := punchEvent(gw, dev, boot, seq)
	p, err := e.Payload(envelope.JSON)
	if err != nil {
		panic(err)
	}
	return envelope.Topics{Root: "officegate", Gateway: gw}.Event(dev, e.Type), p
}

// publisher publishes at QoS 1 over MQTT, as a gateway's uplink does.
type publisher struct {
	t *testing.T
	c mqtt.Client
}

func newPublisher(t *testing.T, url, id string) *publisher {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s to %s: %v", id, url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return &publisher{t: t, c: c}
}

// publish sends seqs from..to of each device, a window of 32 in flight,
// each PUBACKed before publish returns.
func (p *publisher) publish(gw string, devs []string, boot uint32, from, to uint64) {
	p.t.Helper()
	var toks []mqtt.Token
	wait := func() {
		for _, tok := range toks {
			if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
				p.t.Fatalf("publish: %v", tok.Error())
			}
		}
		toks = toks[:0]
	}
	for seq := from; seq <= to; seq++ {
		for _, d := range devs {
			topic, payload := event(gw, d, boot, seq)
			toks = append(toks, p.c.Publish(topic, 1, false, payload))
			if len(toks) == 32 {
				wait()
			}
		}
	}
	wait()
}

// startPG starts PostgreSQL and returns the postgres sink's settings.
func startPG(t *testing.T) (*pgtest.Cluster, map[string]string) {
	t.Helper()
	pg := pgtest.Start(t, nil)
	pw := filepath.Join(t.TempDir(), "db.password")
	if err := os.WriteFile(pw, []byte(pgtest.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return pg, map[string]string{"host": "127.0.0.1", "port": strconv.Itoa(pg.Port), "database": "postgres",
		"user": pgtest.User, "password_file": pw, "sslmode": "disable", "batch": "100"}
}

// pgRows reads the events table: each device's seqs in the order connect
// journaled them (journal_seq), and how many rows.
func pgRows(t *testing.T, pg *pgtest.Cluster) (map[string][]uint64, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	rows, err := db.Query(ctx, `SELECT device, seq FROM events ORDER BY journal_seq`)
	if err != nil {
		return nil, 0 // no table yet
	}
	defer rows.Close()
	out, n := map[string][]uint64{}, 0
	for rows.Next() {
		var dev string
		var seq int64
		if err := rows.Scan(&dev, &seq); err != nil {
			t.Fatal(err)
		}
		out[dev] = append(out[dev], uint64(seq))
		n++
	}
	return out, n
}

// fileLines reads a file sink's events: each device's seqs in file order,
// and each event id's count.
func fileLines(t *testing.T, path string) (map[string][]uint64, map[string]int) {
	t.Helper()
	seqs, ids := map[string][]uint64{}, map[string]int{}
	for _, b := range sinkLines(t, path) {
		var line struct {
			Payload struct {
				ID     string `json:"id"`
				Device string `json:"device"`
				Seq    uint64 `json:"seq"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(b, &line); err != nil {
			t.Fatalf("file sink line %q: %v", b, err)
		}
		seqs[line.Payload.Device] = append(seqs[line.Payload.Device], line.Payload.Seq)
		ids[line.Payload.ID]++
	}
	return seqs, ids
}

// sinkLines reads a file sink's lines; none if the file is not there yet.
// Read while the sink writes, the file can end in a line not yet finished:
// only the lines ended by their newline are the sink's.
func sinkLines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	if len(data) == 0 {
		return nil
	}
	return bytes.Split(data[:len(data)-1], []byte("\n"))
}

// checkComplete fails unless each device's seqs are exactly 1..n in order.
func checkComplete(t *testing.T, what string, got map[string][]uint64, devs []string, n uint64) {
	t.Helper()
	for _, d := range devs {
		s := got[d]
		if uint64(len(s)) != n {
			t.Errorf("%s: device %s: %d events, want %d", what, d, len(s), n)
			continue
		}
		for i, v := range s {
			if v != uint64(i+1) {
				t.Errorf("%s: device %s: event %d is seq %d, want %d (order or exactly-once broken): %v", what, d, i, v, i+1, s)
				break
			}
		}
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// publishing publishes seqs 1, 2, … of each device in the background until
// the returned stop is called; stop returns the last seq published (every
// device has 1..last, each PUBACKed).
func (p *publisher) publishing(gw string, devs []string, boot uint32) (stop func() uint64) {
	quit, done := make(chan struct{}), make(chan uint64, 1)
	go func() {
		var last uint64
		defer func() { done <- last }()
		for {
			select {
			case <-quit:
				return
			default:
			}
			var toks []mqtt.Token
			for _, d := range devs {
				topic, payload := event(gw, d, boot, last+1)
				toks = append(toks, p.c.Publish(topic, 1, false, payload))
			}
			for _, tok := range toks {
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					p.t.Errorf("publish: %v", tok.Error())
					return
				}
			}
			last++
		}
	}()
	return func() uint64 {
		close(quit)
		return <-done
	}
}

// killsThenComplete starts connect as sp and SIGKILLs it kills times at
// random moments while the publisher runs, stops the publisher (stop
// returns the last number each device published), starts connect once
// more and fails unless PostgreSQL ends with every event of devs once, in
// order. It returns that last number.
func killsThenComplete(t *testing.T, sp spec, pg *pgtest.Cluster, devs []string, kills int, stop func() uint64) uint64 {
	t.Helper()
	for range kills {
		cmd := startChild(t, sp)
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond) // a random moment to kill at, not a wait for a condition
		kill(cmd)
	}
	last := stop()
	startChild(t, sp)
	want := int(last) * len(devs)
	waitUntil(t, 2*time.Minute, "PostgreSQL holds every event", func() bool {
		_, n := pgRows(t, pg)
		return n >= want
	})
	got, n := pgRows(t, pg)
	if n != want {
		t.Fatalf("PostgreSQL holds %d rows, want %d", n, want)
	}
	checkComplete(t, "PostgreSQL by journal_seq", got, devs, last)
	return last
}
