package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The raw peer: plain paho publishing at QoS 1 what the gateway published
// (same topics, same payloads, same count) with the same window, the way the
// uplink does it (a fresh clean session, auto-reconnect off, publish order
// acknowledged in order) but with nothing behind it: no device link, no
// journal, no rendering.

// rawResult is what the raw child prints.
type rawResult struct {
	Published int     `json:"published"`
	Seconds   float64 `json:"seconds"` // first publish to last PUBACK
	CPUSec    float64 `json:"cpu_s"`   // this process, over the same span
	RSSMB     float64 `json:"rss_mb"`
	// OfferedPerS is the pace achieved, first to last publish call
	// (childRawLatency only).
	OfferedPerS float64 `json:"offered_per_s,omitempty"`
}

// writeMessages stores msgs for the raw child: per message, the uvarint
// lengths and bytes of topic and payload.
func writeMessages(path string, msgs []message) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, m := range msgs {
		w.Write(binary.AppendUvarint(nil, uint64(len(m.topic))))
		w.WriteString(m.topic)
		w.Write(binary.AppendUvarint(nil, uint64(len(m.payload))))
		w.Write(m.payload)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readMessages(path string) ([]message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > 1<<20 {
			return nil, fmt.Errorf("field of %d bytes", n)
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	var msgs []message
	for {
		t, err := field()
		if errors.Is(err, io.EOF) {
			return msgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bench: %s: message %d: %w", path, len(msgs), err)
		}
		p, err := field()
		if err != nil {
			return nil, fmt.Errorf("bench: %s: message %d: %w", path, len(msgs), errors.Join(err, io.ErrUnexpectedEOF))
		}
		msgs = append(msgs, message{string(t), p})
	}
}

// rawChild publishes the messages in cfg.Messages and prints a rawResult:
// as fast as the window allows, or, as childRawLatency, paced at cfg.Rate
// (as the devices were in the latency phase) with each message's "t_us"
// set to the time of its publish call.
func rawChild(ctx context.Context, cfg e2eConfig) error {
	msgs, err := readMessages(cfg.Messages)
	if err != nil {
		return err
	}
	var stamps []stampable
	if cfg.Child == childRawLatency {
		if stamps, err = stampAll(msgs); err != nil {
			return err
		}
	}
	o := paho.NewClientOptions().AddBroker(cfg.Broker).SetClientID("bench-raw-paho").
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).SetOrderMatters(false).
		SetKeepAlive(30 * time.Second).SetConnectTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second).
		SetStore(paho.NewMemoryStore())
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("bench: raw paho: connect to %s: %v", cfg.Broker, tok.Error())
	}
	defer c.Disconnect(100)

	cpu0, t0 := selfCPU(), time.Now()
	// The uplink's window: a channel of cfg.Inflight publishes awaiting their
	// PUBACK, drained in order by an acker.
	flights := make(chan paho.Token, cfg.Inflight)
	acked := make(chan error, 1)
	go func() {
		for tok := range flights {
			<-tok.Done()
			if err := tok.Error(); err != nil {
				for range flights {
				}
				acked <- err
				return
			}
		}
		acked <- nil
	}()
	publish := func(k int) error {
		m := msgs[k]
		payload := m.payload
		if stamps != nil {
			payload = stamps[k].at(time.Now())
		}
		select {
		case flights <- c.Publish(m.topic, 1, false, payload):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if stamps != nil {
		err = pace(ctx, cfg.Rate, len(msgs), publish)
	} else {
		for k := range msgs {
			if err = publish(k); err != nil {
				break
			}
		}
	}
	offered := time.Since(t0)
	close(flights)
	if aerr := <-acked; err == nil && aerr != nil {
		err = fmt.Errorf("bench: raw paho: publish: %w", aerr)
	}
	if err != nil {
		return err
	}
	secs, cpu := time.Since(t0).Seconds(), selfCPU()-cpu0
	rss, err := peakRSS()
	if err != nil {
		return err
	}
	r := rawResult{Published: len(msgs), Seconds: secs, CPUSec: cpu.Seconds(), RSSMB: round(float64(rss)/(1<<20), 1)}
	if stamps != nil && offered > 0 {
		r.OfferedPerS = float64(len(msgs)) / offered.Seconds()
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// runRaw has a raw child publish msgs, as mode ("raw" or childRawLatency)
// says, and waits until the subscriber has them all. It returns the
// child's figures and the subscriber's sample.
func runRaw(ctx context.Context, exe, dir string, cfg e2eConfig, mode, brokerURL string, sub *subscriber, msgs []message) (rawResult, sample, error) {
	path := dir + "/raw-messages"
	if err := writeMessages(path, msgs); err != nil {
		return rawResult{}, sample{}, err
	}
	defer os.Remove(path)
	want := map[string]struct{}{}
	for _, m := range msgs {
		var e struct {
			ID string `json:"id"`
		}
		json.Unmarshal(m.payload, &e)
		want[e.ID] = struct{}{}
	}
	sub.reset(0)
	c, err := startChild(exe, "-child", mode, "-broker", brokerURL, "-messages", path, "-inflight", strconv.Itoa(cfg.Inflight),
		"-rate", strconv.FormatFloat(cfg.Rate, 'g', -1, 64))
	if err != nil {
		return rawResult{}, sample{}, err
	}
	defer c.kill()
	line, err := c.line(ctx, phaseTimeout)
	if err != nil {
		return rawResult{}, sample{}, err
	}
	if err := c.stop(); err != nil {
		return rawResult{}, sample{}, fmt.Errorf("bench: raw paho child: %w", err)
	}
	var r rawResult
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return rawResult{}, sample{}, fmt.Errorf("bench: raw paho child printed %q: %w", line, err)
	}
	sm, err := sub.waitIDs(ctx, "raw paho", want, phaseTimeout)
	return r, sm, err
}
