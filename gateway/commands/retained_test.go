package commands

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/journal"
	"github.com/officegate/officegate/gateway/mqtttest"
	"github.com/officegate/officegate/gateway/uplink"
)

// executions is a router with one device that counts every execution.
type executions struct {
	mu  sync.Mutex
	ran []string // command ids, in execution order
}

func (e *executions) Check(dev, _ string) error {
	if dev != "door-1" {
		return ErrUnknownDevice
	}
	return nil
}
func (e *executions) Execute(_ context.Context, req Request) Outcome {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ran = append(e.ran, req.ID)
	return Outcome{Status: envelope.StatusOK}
}

func (e *executions) ids() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ran...)
}

// mqttClient connects a plain client to the test broker.
func mqttClient(t *testing.T, b *mqtttest.Broker, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID(id).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func publish(t *testing.T, c paho.Client, topic string, retained bool, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// TestRetainedCommandsNeverExecute: commands left retained on the broker
// while the gateway was offline are answered error and never executed, on
// the first connection and again on a reconnect; a live command sent after
// them executes. Real mosquitto, real uplink, real journal.
func TestRetainedCommandsNeverExecute(t *testing.T) {
	b := mqtttest.Start(t, nil)
	admin := mqttClient(t, b, "admin-svc")
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	publish(t, admin, "officegate/gw/devices/door-1/commands/door.pulse", true, `{"id":"r-pulse","expires_at":"`+exp+`"}`)
	publish(t, admin, "officegate/gw/devices/door-1/commands/user.upsert", true, `{"id":"r-user","args":{"user":"1"}}`)
	publish(t, admin, "officegate/gw/devices/door-1/commands/door.mode", true, `{"ID":"no-id"}`) // unreadable: counted

	var mu sync.Mutex
	results := map[string][]map[string]any{}
	sub := mqttClient(t, b, "hr")
	if tok := sub.Subscribe("officegate/gw/devices/+/results", 1, func(_ paho.Client, m paho.Message) {
		if err := contract.Strict(contract.Result, m.Payload()); err != nil {
			t.Errorf("result breaks result.json: %v\n%s", err, m.Payload())
		}
		var r map[string]any
		json.Unmarshal(m.Payload(), &r)
		mu.Lock()
		results[r["id"].(string)] = append(results[r["id"].(string)], r)
		mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	count := func(id string) int { mu.Lock(); defer mu.Unlock(); return len(results[id]) }

	// The gateway starts.
	j, err := journal.Open(t.TempDir(), &journal.Options{Streams: []journal.Stream{Stream}, SyncWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	up, err := uplink.New(j, uplink.Options{Broker: b.URL, ClientID: "officegate-gw", Streams: []string{Stream.Name},
		Topics: envelope.Topics{Root: "officegate", Gateway: "gw"}, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ex := &executions{}
	ctx, cancel := context.WithCancel(context.Background())
	var unreadable sync.WaitGroup
	unreadable.Add(1)
	var once sync.Once
	p, err := New(ctx, j, ex, Options{Gateway: "gw", OnMalformed: func() { once.Do(unreadable.Done) }})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); up.Run(ctx) }()
	go func() { defer wg.Done(); p.Run(ctx, up.Commands()) }()
	defer func() { cancel(); wg.Wait() }()

	waitFor(t, func() bool { return count("r-pulse") == 1 && count("r-user") == 1 })
	unreadable.Wait()
	for _, id := range []string{"r-pulse", "r-user"} {
		mu.Lock()
		r := results[id][0]
		mu.Unlock()
		if r["status"] != "error" || r["error"] != ErrRetained.Error() {
			t.Errorf("retained %s answered %v, want error %q", id, r, ErrRetained)
		}
	}
	// A live command is executed: the gateway is listening.
	publish(t, admin, "officegate/gw/devices/door-1/commands/door.pulse", false, `{"id":"live-1"}`)
	waitFor(t, func() bool { return count("live-1") == 1 })

	// A reconnect: another client takes the gateway's client id, the
	// broker drops the gateway's session, the gateway connects again and
	// subscribes again, and the retained commands come again. They are
	// answered again with the same result, and still not executed.
	c, _ := up.Connected()
	if !c {
		t.Fatal("gateway not connected")
	}
	thief := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL).SetClientID("officegate-gw"))
	if tok := thief.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	thief.Disconnect(0)
	waitFor(t, func() bool { return count("r-pulse") == 2 && count("r-user") == 2 })
	publish(t, admin, "officegate/gw/devices/door-1/commands/door.pulse", false, `{"id":"live-2"}`)
	waitFor(t, func() bool { return count("live-2") == 1 })
	mu.Lock()
	for _, id := range []string{"r-pulse", "r-user"} {
		a, b := results[id][0], results[id][1]
		if a["time"] != b["time"] || a["error"] != b["error"] {
			t.Errorf("retained %s answered differently after the reconnect:\n%v\n%v", id, a, b)
		}
	}
	mu.Unlock()
	if got := ex.ids(); len(got) != 2 || got[0] != "live-1" || got[1] != "live-2" {
		t.Fatalf("executed %v, want only the live commands", got)
	}
}
