package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The peer's latency. Right after the gateway's latency phase, the raw
// paho child publishes the messages the subscriber received in it (same
// topics, same payloads, same count, same window) at the same rate, on the
// same schedule, to the same broker, each stamped with the time of its
// publish call where the device had stamped its emit time; the same
// subscriber receives them and reads the stamp the same way. So the peer's
// figure is paho → mosquitto → subscriber on this machine in these minutes,
// and the gateway's beside it is that plus the gateway's own part.

// childRawLatency is the raw child's mode that publishes paced and stamped.
const childRawLatency = "raw-latency"

// pace calls f(k) for k = 0 … n-1, rate calls per second, on a fixed
// schedule from the first: a call late to its slot is made at once, so the
// offered rate holds on average. The device fleet and the raw peer pace
// with it alike.
func pace(ctx context.Context, rate float64, n int, f func(k int) error) error {
	every := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for k := range n {
		at := start.Add(time.Duration(k) * every)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := f(k); err != nil {
			return err
		}
	}
	return nil
}

// stampable is a payload split around the number of its "t_us" field.
type stampable struct {
	pre, post []byte
}

var tUsKey = []byte(`"t_us":`)

// splitStamp finds the emit time the device put into payload (the first
// "t_us" key, a JSON number) so that another time can take its place.
func splitStamp(payload []byte) (stampable, error) {
	i := bytes.Index(payload, tUsKey)
	if i < 0 {
		return stampable{}, errors.New(`no "t_us" field`)
	}
	i += len(tUsKey)
	j := i
	for j < len(payload) && bytes.IndexByte([]byte("0123456789.eE+-"), payload[j]) >= 0 {
		j++
	}
	if j == i {
		return stampable{}, fmt.Errorf(`"t_us" is not a number at offset %d`, i)
	}
	return stampable{pre: payload[:i], post: payload[j:]}, nil
}

// at is the payload with t as its emit time, in microseconds since the
// epoch. A new slice every time: paho holds a payload until it is written.
func (s stampable) at(t time.Time) []byte {
	b := make([]byte, 0, len(s.pre)+20+len(s.post))
	b = append(b, s.pre...)
	b = strconv.AppendInt(b, t.UnixMicro(), 10)
	return append(b, s.post...)
}

// stampAll splits every message for a latency run.
func stampAll(msgs []message) ([]stampable, error) {
	out := make([]stampable, len(msgs))
	for k, m := range msgs {
		s, err := splitStamp(m.payload)
		if err != nil {
			return nil, fmt.Errorf("bench: raw paho: message %d on %s: %w", k, m.topic, err)
		}
		out[k] = s
	}
	return out, nil
}

// latencyDist is a latency distribution as printed and reported: its
// quantiles (nearest rank, as quantile does) in milliseconds.
type latencyDist struct {
	Events               int
	P50, P90, P99, MaxMs float64
}

func distOf(sorted []time.Duration) latencyDist {
	return latencyDist{Events: len(sorted), P50: ms(quantile(sorted, 0.50)), P90: ms(quantile(sorted, 0.90)),
		P99: ms(quantile(sorted, 0.99)), MaxMs: ms(quantile(sorted, 1))}
}

// setLatency fills the gateway's latency figures from its distribution.
func (r *e2eResult) setLatency(d latencyDist) {
	r.LatencyEvents, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs = d.Events, d.P50, d.P90, d.P99, d.MaxMs
}

// setRawLatency fills the peer's, and the gateway's own share at the
// median. Only the medians are subtracted: the difference of two p99s is
// not the p99 of anything (the two tails need not come from the same
// events, or add up), so the p99s are reported side by side.
func (r *e2eResult) setRawLatency(d latencyDist, offeredPerS float64) {
	r.RawLatencyEvents, r.RawP50Ms, r.RawP90Ms, r.RawP99Ms, r.RawMaxMs = d.Events, d.P50, d.P90, d.P99, d.MaxMs
	r.RawOfferedPerS = round(offeredPerS, 0)
	r.GatewayShareP50Ms = round(r.P50Ms-d.P50, 2)
}
