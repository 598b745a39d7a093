package admin

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
	"github.com/officegate/officegate/provisioning"
)

// Push outcomes, per device.
const (
	PushApplied   = "applied"   // the device took the new configuration
	PushUnchanged = "unchanged" // it already had it: nothing was sent
	PushRejected  = "rejected"  // it refused it (Code, Error say why)
	PushOffline   = "offline"   // not connected: it gets the configuration when it connects
	PushTimeout   = "timeout"   // connected but no answer within PushWait; still desired
	PushFailed    = "failed"    // the link failed otherwise (Error)
)

// PushResult is what ConfigPush did.
type PushResult struct {
	Profile string        `json:"profile"`
	Hash    string        `json:"hash"` // hex SHA-256 of the profile's configuration
	Devices []PushOutcome `json:"devices"`
}

// PushOutcome is one device's answer to a push.
type PushOutcome struct {
	Device  string `json:"device"`
	Outcome string `json:"outcome"`
	Code    string `json:"code,omitempty"`  // the device's protocol code when rejected
	Error   string `json:"error,omitempty"` // why, when rejected or failed
}

// ConfigPush makes profile's configuration the one every active device of
// that profile should have, and waits (up to PushWait each, in parallel) for
// the connected ones to answer. The link pushes by hash, so pushing the same
// configuration again sends nothing and answers "unchanged"; a device that is
// offline gets it at its next session.
func (s *Service) ConfigPush(ctx context.Context, profile string) (PushResult, error) {
	cfg, err := s.profile(profile)
	if err != nil {
		return PushResult{}, err
	}
	sum := sha256.Sum256(cfg)
	res := PushResult{Profile: profile, Hash: fmt.Sprintf("%x", sum), Devices: []PushOutcome{}}
	var targets []string
	for _, d := range s.reg.List() {
		if d.State == provisioning.StateActive && d.Profile == profile {
			targets = append(targets, d.DeviceID)
		}
	}
	res.Devices = make([]PushOutcome, len(targets))
	var wg sync.WaitGroup
	for i, id := range targets {
		wg.Go(func() { res.Devices[i] = s.pushOne(ctx, id, cfg) })
	}
	wg.Wait()
	n := map[string]int{}
	for _, o := range res.Devices {
		n[o.Outcome]++
	}
	s.log.Info().Str("profile", profile).Str("hash", res.Hash[:16]).Interface("outcomes", n).Msg("admin: configuration pushed")
	return res, nil
}

func (s *Service) pushOne(ctx context.Context, id string, cfg []byte) PushOutcome {
	out := PushOutcome{Device: id}
	g := s.links.Link(id)
	if g == nil {
		out.Outcome = PushOffline
		return out
	}
	wait := s.pushWait
	if !g.Status().Online {
		// A cancelled push still sets the desired configuration: the link
		// sends it at the device's next session (link.Gateway.SetConfig).
		wait = 0
	}
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	st, err := g.SetConfig(pctx, cfg)
	var re *link.RejectError
	switch {
	case err == nil && st.State == msg.ConfigUnchanged:
		out.Outcome = PushUnchanged
	case err == nil:
		out.Outcome = PushApplied
	case errors.As(err, &re):
		out.Outcome, out.Code, out.Error = PushRejected, re.Code.String(), re.Text
	case wait == 0:
		out.Outcome = PushOffline
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		out.Outcome, out.Error = PushTimeout, fmt.Sprintf("no answer within %v; the device gets it at its next session", wait)
	default:
		out.Outcome, out.Error = PushFailed, err.Error()
	}
	return out
}
