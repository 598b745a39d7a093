package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// service is a back-office MQTT client of the demo (the admin service, the
// booking system): it sends commands, and waits for their results and for
// events as those services would, so the script reacts to what happened
// rather than to the time that passed.
type service struct {
	name string
	c    paho.Client

	mu sync.Mutex
	// Guarded by mu.
	msgs    []received
	sent    int
	changed chan struct{} // closed and replaced on every message
}

// received is one message a service saw: an event or a command's result.
type received struct {
	device string
	event  string // the event type; "" for a result
	p      map[string]any
}

// mark is a position in what a service received: waits look after it.
type mark int

func dialService(broker, name string) (*service, error) {
	s := &service{name: name, changed: make(chan struct{})}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("officegate-demo-%s-%d", name, time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(true)
	s.c = paho.NewClient(o)
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("demo: %s cannot connect to %s: %v", name, broker, tok.Error())
	}
	filters := map[string]byte{
		"officegate/" + Gateway + "/devices/+/results":  1,
		"officegate/" + Gateway + "/devices/+/events/#": 1,
	}
	if tok := s.c.SubscribeMultiple(filters, s.take); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.c.Disconnect(100)
		return nil, fmt.Errorf("demo: %s cannot subscribe: %v", name, tok.Error())
	}
	return s, nil
}

func (s *service) take(_ paho.Client, m paho.Message) {
	var p map[string]any
	if json.Unmarshal(m.Payload(), &p) != nil {
		return
	}
	// officegate/<gw>/devices/<device>/results or …/events/<type>
	parts := strings.Split(m.Topic(), "/")
	if len(parts) < 5 {
		return
	}
	r := received{device: parts[3], p: p}
	if parts[4] == "events" && len(parts) == 6 {
		r.event = parts[5]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

// mark returns the position after everything received so far.
func (s *service) mark() mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mark(len(s.msgs))
}

// wait returns the first message after m that ok accepts, waiting for it.
func (s *service) wait(ctx context.Context, m mark, what string, ok func(received) bool) (received, error) {
	for i := int(m); ; {
		s.mu.Lock()
		for ; i < len(s.msgs); i++ {
			if ok(s.msgs[i]) {
				r := s.msgs[i]
				s.mu.Unlock()
				return r, nil
			}
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return received{}, fmt.Errorf("demo: %s waiting for %s: %w", s.name, what, ctx.Err())
		}
	}
}

// event waits for an event of typ from device after m whose data match
// accepts (nil: any), and returns its data.
func (s *service) event(ctx context.Context, m mark, device, typ string, match func(map[string]any) bool) (map[string]any, error) {
	r, err := s.wait(ctx, m, typ+" from "+device, func(r received) bool {
		if r.device != device || r.event != typ {
			return false
		}
		d, _ := r.p["data"].(map[string]any)
		return match == nil || match(d)
	})
	d, _ := r.p["data"].(map[string]any)
	return d, err
}

// resultRetry is how long a service waits before sending a command again
// that was answered busy (a driver still opening its state file).
const resultRetry = 250 * time.Millisecond

// command sends a command to device and returns its result's data; a result
// other than ok is an error quoting it. Busy is retried until ctx ends.
func (s *service) command(ctx context.Context, device, name string, args map[string]any) (map[string]any, error) {
	for {
		s.mu.Lock()
		s.sent++
		id := fmt.Sprintf("demo-%s-%d-%s", s.name, s.sent, name)
		s.mu.Unlock()
		body, err := json.Marshal(map[string]any{"id": id, "args": args})
		if err != nil {
			return nil, fmt.Errorf("demo: %s %s: %w", device, name, err)
		}
		r, err := s.publish(ctx, "officegate/"+Gateway+"/devices/"+device+"/commands/"+name, id, body)
		if err != nil {
			return nil, fmt.Errorf("demo: %s %s: %w", device, name, err)
		}
		data, _ := r.p["data"].(map[string]any)
		switch st, _ := r.p["status"].(string); st {
		case "ok":
			return data, nil
		case "busy":
			select {
			case <-time.After(resultRetry):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		default:
			return nil, fmt.Errorf("demo: %s %s answered %s: %v", device, name, st, r.p["error"])
		}
	}
}

// resend is how long a service waits for a result before publishing the
// command again: a command published before the gateway subscribed (it
// has just started) reaches nobody. The gateway answers a repeated id
// once and repeats its result (MQTT.md §12.8), so a resend is harmless.
const resend = 2 * time.Second

// publish publishes a command's body until its result (by id) arrives.
func (s *service) publish(ctx context.Context, topic, id string, body []byte) (received, error) {
	for {
		m := s.mark()
		s.c.Publish(topic, 1, false, body)
		wctx, cancel := context.WithTimeout(ctx, resend)
		r, err := s.wait(wctx, m, "the result of "+id, func(r received) bool { return r.event == "" && r.p["id"] == id })
		cancel()
		if err == nil || ctx.Err() != nil {
			return r, err
		}
	}
}

func (s *service) close() { s.c.Disconnect(100) }
