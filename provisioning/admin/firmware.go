package admin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/officegate/officegate/internal/atomicfile"
	"github.com/officegate/officegate/provisioning"
	"github.com/officegate/officegate/provisioning/rollout"
)

// ErrNoFirmware is returned by the firmware operations when the daemon runs
// without a rollout orchestrator (no firmware key configured).
var ErrNoFirmware = errors.New("admin: firmware rollouts are not configured on this gateway")

// RolloutRequest starts a firmware rollout. Image names a file in the
// gateway's firmware directory; its signature is Image + ".sig"
// (provisioning/rollout, Images).
type RolloutRequest struct {
	Image    string   `json:"firmware"` // name of the image in the firmware directory (or an absolute path under it); its signature beside it (+ ".sig")
	Version  string   `json:"version"`
	Devices  []string `json:"devices"` // device ids, in order: the first Canary are the canaries
	Canary   int      `json:"canary,omitempty"`
	Parallel int      `json:"parallel,omitempty"`
}

// FirmwareRollout checks req (every device active in the registry, the
// image a regular file of the firmware directory within the size cap) and
// starts the rollout; the orchestrator checks the signature before anything
// is sent. It returns the rollout as started; FirmwareStatus follows it.
// Nothing here waits on what the name leads to (a FIFO is refused without
// blocking), so a hostile name cannot hold up the gateway commands after it.
func (s *Service) FirmwareRollout(req RolloutRequest) (rollout.Record, error) {
	if s.rollouts == nil {
		return rollout.Record{}, ErrNoFirmware
	}
	if req.Image == "" || req.Version == "" || len(req.Devices) == 0 {
		return rollout.Record{}, fmt.Errorf("%w: a rollout needs an image, its version and at least one device", provisioning.ErrInvalid)
	}
	if req.Canary < 0 || req.Parallel < 0 {
		return rollout.Record{}, fmt.Errorf("%w: canary %d, parallel %d: must not be negative", provisioning.ErrInvalid, req.Canary, req.Parallel)
	}
	for _, id := range req.Devices {
		d, err := s.reg.Get(id)
		switch {
		case errors.Is(err, provisioning.ErrNotFound) && s.links.Link(id) != nil:
			// A device of the configuration (trusted by its port), not of
			// the registry: its link is what a rollout needs.
		case err != nil:
			return rollout.Record{}, err
		case d.State != provisioning.StateActive:
			return rollout.Record{}, fmt.Errorf("%w: device %q is %s", provisioning.ErrState, id, d.State)
		}
	}
	img, err := s.images.Read(req.Image, req.Version)
	if err != nil {
		// The error names nothing outside the firmware directory
		// (rollout.ErrNoImage): it goes back to whoever asked.
		return rollout.Record{}, fmt.Errorf("%w: %v", provisioning.ErrInvalid, err)
	}
	r, err := s.rollouts.Start(rollout.Spec{Image: img, Devices: req.Devices, Canary: req.Canary, Parallel: req.Parallel})
	switch {
	case errors.Is(err, rollout.ErrInRollout):
		return rollout.Record{}, fmt.Errorf("%w: %v", provisioning.ErrConflict, err)
	case errors.Is(err, rollout.ErrBadSignature):
		return rollout.Record{}, fmt.Errorf("%w: %v", provisioning.ErrInvalid, err)
	case err != nil:
		return rollout.Record{}, err
	}
	s.log.Info().Str("rollout", r.ID()).Str("version", req.Version).Strs("devices", req.Devices).Msg("admin: firmware rollout started")
	return r.Snapshot(), nil
}

// FirmwareRollouts returns every rollout of this process and the unfinished
// ones of the previous.
func (s *Service) FirmwareRollouts() ([]rollout.Record, error) {
	if s.rollouts == nil {
		return nil, ErrNoFirmware
	}
	out := []rollout.Record{}
	for _, r := range s.rollouts.Rollouts() {
		out = append(out, r.Snapshot())
	}
	return out, nil
}

// FirmwareStatus returns the rollout named id.
func (s *Service) FirmwareStatus(id string) (rollout.Record, error) {
	if s.rollouts == nil {
		return rollout.Record{}, ErrNoFirmware
	}
	for _, r := range s.rollouts.Rollouts() {
		if r.ID() == id {
			return r.Snapshot(), nil
		}
	}
	return rollout.Record{}, fmt.Errorf("%w: rollout %q", provisioning.ErrNotFound, id)
}

// FirmwareUpload stores an image and its detached signature in the
// firmware directory as name and name + ".sig", each written atomically
// (a rollout never reads half an upload), for FirmwareRollout to take by
// that name. name is a plain file name (letters, digits, '.', '_', '-'; not
// starting with '.'); the image must be within the size cap. The signature
// is checked by the rollout, not here: a wrong one is refused when the
// rollout starts, before anything is sent.
func (s *Service) FirmwareUpload(name string, image, sig []byte) error {
	if s.rollouts == nil {
		return ErrNoFirmware
	}
	if !plainName(name) {
		return fmt.Errorf("%w: image name %q: want a plain file name of letters, digits, '.', '_' and '-'", provisioning.ErrInvalid, name)
	}
	max := s.images.MaxBytes
	if max <= 0 {
		max = rollout.DefaultMaxImage
	}
	switch {
	case len(image) == 0:
		return fmt.Errorf("%w: image %q is empty", provisioning.ErrInvalid, name)
	case int64(len(image)) > max:
		return fmt.Errorf("%w: image %q: %d bytes, larger than the cap of %d (provisioning.firmware_max_size)", provisioning.ErrInvalid, name, len(image), max)
	case len(sig) == 0 || len(sig) > 1024:
		return fmt.Errorf("%w: image %q: a signature of %d bytes (want 64 raw bytes or 128 hex digits)", provisioning.ErrInvalid, name, len(sig))
	}
	if err := os.MkdirAll(s.images.Dir, 0o750); err != nil {
		return fmt.Errorf("admin: firmware directory: %w", err)
	}
	// The signature first: an image is never beside a stale signature of
	// an earlier upload for longer than this call.
	if err := atomicfile.WriteFile(filepath.Join(s.images.Dir, name+rollout.SigSuffix), sig, 0o640); err != nil {
		return fmt.Errorf("admin: firmware %q: %w", name, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(s.images.Dir, name), image, 0o640); err != nil {
		return fmt.Errorf("admin: firmware %q: %w", name, err)
	}
	s.log.Info().Str("image", name).Int("bytes", len(image)).Msg("admin: firmware image uploaded")
	return nil
}

func plainName(n string) bool {
	if n == "" || len(n) > 128 || n[0] == '.' {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
