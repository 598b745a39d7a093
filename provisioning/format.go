package provisioning

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/link"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// File names inside the registry directory (FORMAT.md §1).
const (
	RegistryFile = "devices.reg"
	KeysFile     = "keys.reg"
)

// Magic words opening the two files (FORMAT.md §2).
const (
	registryMagic = "officegate-registry"
	keysMagic     = "officegate-keys"
	formatVersion = 1
)

// maxBody bounds the body length a header may announce, so a corrupt length
// cannot make the decoder allocate without limit: 64 MiB is ~100 000 devices,
// far above one gateway's serial ports.
const maxBody = 64 << 20

// state is everything the two files hold.
type state struct {
	devices map[string]*Device // by hardware id
	pre     []Preapproval      // in manifest order: the first match wins
	keys    map[string]link.Key
}

func newState() *state {
	return &state{devices: map[string]*Device{}, keys: map[string]link.Key{}}
}

func (s *state) clone() *state {
	c := &state{devices: make(map[string]*Device, len(s.devices)), pre: slices.Clone(s.pre), keys: make(map[string]link.Key, len(s.keys))}
	for hw, d := range s.devices {
		dd := d.clone()
		c.devices[hw] = &dd
	}
	for ref, k := range s.keys {
		c.keys[ref] = k // secrets are never modified in place
	}
	return c
}

// The JSON shapes of FORMAT.md §3 and §4.
type (
	fileRegistry struct {
		Devices      []fileDevice  `json:"devices"`
		Preapprovals []filePreappr `json:"preapprovals"`
	}
	fileDevice struct {
		HardwareID string    `json:"hardware_id"`
		DeviceID   string    `json:"device_id,omitempty"`
		Kind       string    `json:"kind"`
		Model      string    `json:"model,omitempty"`
		Name       string    `json:"name,omitempty"`
		Room       string    `json:"room,omitempty"`
		Profile    string    `json:"profile,omitempty"`
		Port       string    `json:"port,omitempty"`
		Firmware   string    `json:"firmware,omitempty"`
		ConfigHash string    `json:"config_hash,omitempty"`
		State      string    `json:"state"`
		KeyRef     string    `json:"key_ref,omitempty"`
		LastSeen   time.Time `json:"last_seen,omitzero"`
		Created    time.Time `json:"created"`
		Updated    time.Time `json:"updated"`
	}
	filePreappr struct {
		Pattern string    `json:"pattern"`
		Kind    string    `json:"kind"`
		Name    string    `json:"name"`
		Room    string    `json:"room,omitempty"`
		Profile string    `json:"profile,omitempty"`
		Created time.Time `json:"created"`
	}
	fileKeys struct {
		Keys []fileKey `json:"keys"`
	}
	fileKey struct {
		Ref    string `json:"ref"`
		Epoch  uint16 `json:"epoch"`
		Secret string `json:"secret"`
	}
)

// appendFile frames body as FORMAT.md §2 says: header line, then body.
func appendFile(dst []byte, magic string, body []byte) []byte {
	sum := sha256.Sum256(body)
	dst = fmt.Appendf(dst, "%s %d %d %s\n", magic, formatVersion, len(body), hex.EncodeToString(sum[:]))
	return append(dst, body...)
}

// encodeRegistry returns the registry file for s (FORMAT.md §3). Devices are
// sorted by hardware id so equal registries are equal files.
func encodeRegistry(s *state) []byte {
	f := fileRegistry{Devices: []fileDevice{}, Preapprovals: []filePreappr{}}
	hws := make([]string, 0, len(s.devices))
	for hw := range s.devices {
		hws = append(hws, hw)
	}
	slices.Sort(hws)
	for _, hw := range hws {
		d := s.devices[hw]
		f.Devices = append(f.Devices, fileDevice{
			HardwareID: d.HardwareID, DeviceID: d.DeviceID, Kind: d.Kind.String(), Model: d.Model,
			Name: d.Name, Room: d.Room, Profile: d.Profile, Port: d.Port, Firmware: d.Firmware,
			ConfigHash: hex.EncodeToString(d.ConfigHash), State: d.State.String(), KeyRef: d.KeyRef,
			LastSeen: d.LastSeen, Created: d.Created, Updated: d.Updated,
		})
	}
	for _, p := range s.pre {
		f.Preapprovals = append(f.Preapprovals, filePreappr{Pattern: p.Pattern, Kind: p.Kind.String(),
			Name: p.Name, Room: p.Room, Profile: p.Profile, Created: p.Created})
	}
	body, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		panic("provisioning: encoding the registry: " + err.Error()) // only plain types: cannot fail
	}
	return appendFile(nil, registryMagic, append(body, '\n'))
}

// encodeKeys returns the key store file for s (FORMAT.md §4), sorted by ref.
func encodeKeys(s *state) []byte {
	f := fileKeys{Keys: []fileKey{}}
	refs := make([]string, 0, len(s.keys))
	for ref := range s.keys {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	for _, ref := range refs {
		k := s.keys[ref]
		f.Keys = append(f.Keys, fileKey{Ref: ref, Epoch: k.Epoch, Secret: hex.EncodeToString(k.Secret)})
	}
	body, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		panic("provisioning: encoding the key store: " + err.Error())
	}
	return appendFile(nil, keysMagic, append(body, '\n'))
}

// corrupt wraps ErrCorrupt with what is wrong.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// splitFile checks the framing of FORMAT.md §2 and returns the body and the
// header's length (offsets in errors are from the start of the file).
func splitFile(data []byte, magic string) ([]byte, int, error) {
	if len(data) == 0 {
		return nil, 0, corrupt("empty file (0 bytes): a write was lost")
	}
	if bytes.Count(data, []byte{0}) == len(data) {
		return nil, 0, corrupt("torn write: all %d bytes are zero", len(data))
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 200 {
		return nil, 0, corrupt("no header line: the file does not start with %q", magic)
	}
	f := strings.Split(string(data[:nl]), " ")
	if len(f) != 4 || f[0] != magic {
		return nil, 0, corrupt("header %q: want %q, version, length, sha-256", data[:nl], magic)
	}
	if f[1] != strconv.Itoa(formatVersion) {
		return nil, 0, corrupt("format version %q, this build reads %d", f[1], formatVersion)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n < 0 || n > maxBody || strconv.Itoa(n) != f[2] {
		return nil, 0, corrupt("header length %q is not a decimal in 0..%d", f[2], maxBody)
	}
	want, err := hex.DecodeString(f[3])
	if err != nil || len(want) != sha256.Size || f[3] != strings.ToLower(f[3]) {
		return nil, 0, corrupt("header checksum %q is not 64 lower-case hex digits", f[3])
	}
	body := data[nl+1:]
	if len(body) < n {
		return nil, 0, corrupt("truncated: header says %d body bytes, %d follow", n, len(body))
	}
	if len(body) > n {
		return nil, 0, corrupt("%d bytes after the %d-byte body", len(body)-n, n)
	}
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, 0, corrupt("checksum mismatch: header says %s, body hashes to %x", f[3], got)
	}
	return body, nl + 1, nil
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(body []byte, hdr int, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return corrupt("body at offset %d: %v", int64(hdr)+se.Offset, err)
		}
		return corrupt("body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return corrupt("body: data after the JSON value")
	}
	return nil
}

// decodeRegistry parses a registry file into s.devices and s.pre and checks
// every rule of FORMAT.md §3 that does not need the key store.
func decodeRegistry(data []byte, s *state) error {
	body, hdr, err := splitFile(data, registryMagic)
	if err != nil {
		return err
	}
	var f fileRegistry
	if err := decodeStrict(body, hdr, &f); err != nil {
		return err
	}
	if f.Devices == nil || f.Preapprovals == nil {
		return corrupt(`"devices" and "preapprovals" must both be present`)
	}
	for i, fd := range f.Devices {
		d, err := fd.device()
		if err != nil {
			return corrupt("device %d (%q): %v", i, fd.HardwareID, err)
		}
		if _, dup := s.devices[d.HardwareID]; dup {
			return corrupt("device %d: hardware id %q listed twice", i, d.HardwareID)
		}
		s.devices[d.HardwareID] = &d
	}
	for i, fp := range f.Preapprovals {
		p, err := fp.preapproval()
		if err != nil {
			return corrupt("preapproval %d (%q): %v", i, fp.Pattern, err)
		}
		s.pre = append(s.pre, p)
	}
	if err := s.checkUnique(); err != nil {
		return corrupt("%v", err)
	}
	return nil
}

func (fd fileDevice) device() (Device, error) {
	d := Device{HardwareID: fd.HardwareID, DeviceID: fd.DeviceID, Model: fd.Model, Name: fd.Name,
		Room: fd.Room, Profile: fd.Profile, Port: fd.Port, Firmware: fd.Firmware, KeyRef: fd.KeyRef,
		LastSeen: utc(fd.LastSeen), Created: utc(fd.Created), Updated: utc(fd.Updated)}
	var err error
	if d.Kind, err = ParseKind(fd.Kind); err != nil {
		return d, err
	}
	if d.State, err = ParseState(fd.State); err != nil {
		return d, err
	}
	if fd.ConfigHash != "" {
		if d.ConfigHash, err = hex.DecodeString(fd.ConfigHash); err != nil || len(d.ConfigHash) > msg.MaxHashLen ||
			fd.ConfigHash != strings.ToLower(fd.ConfigHash) {
			return d, fmt.Errorf("config_hash %q is not lower-case hex of at most %d bytes", fd.ConfigHash, msg.MaxHashLen)
		}
	}
	return d, d.check()
}

// check enforces the per-record rules of FORMAT.md §3.
func (d *Device) check() error {
	if err := CheckHardwareID(d.HardwareID); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{{"model", d.Model}, {"name", d.Name}, {"room", d.Room},
		{"profile", d.Profile}, {"port", d.Port}, {"firmware", d.Firmware}, {"key_ref", d.KeyRef}} {
		if err := checkText(f.what, f.v, 0, maxText); err != nil {
			return err
		}
	}
	switch d.State {
	case StatePending:
		if d.DeviceID != "" || d.KeyRef != "" {
			return fmt.Errorf("a pending device has no device_id and no key_ref")
		}
		return nil
	case StateActive, StateDisabled:
		// No key_ref: approved, the link key not agreed yet (PROTOCOL.md §6.7).
	case StateRetired:
		if d.KeyRef != "" {
			return fmt.Errorf("a retired device keeps no key_ref")
		}
		if d.DeviceID == "" {
			return nil
		}
	}
	return CheckDeviceID(d.DeviceID)
}

// checkUnique enforces the rules across records (FORMAT.md §3): device ids
// and names are unique among devices not retired, and pre-approval names are
// unique.
func (s *state) checkUnique() error {
	ids, names := map[string]string{}, map[string]string{}
	for _, d := range s.devices {
		if d.State == StateRetired || d.State == StatePending {
			continue
		}
		if o, dup := ids[d.DeviceID]; dup {
			return fmt.Errorf("device id %q held by %q and %q", d.DeviceID, min(o, d.HardwareID), max(o, d.HardwareID))
		}
		ids[d.DeviceID] = d.HardwareID
		if d.Name == "" {
			continue
		}
		if o, dup := names[d.Name]; dup {
			return fmt.Errorf("name %q held by %q and %q", d.Name, min(o, d.HardwareID), max(o, d.HardwareID))
		}
		names[d.Name] = d.HardwareID
	}
	seen := map[string]bool{}
	for _, p := range s.pre {
		if seen[p.Name] {
			return fmt.Errorf("two preapprovals name %q", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

func (fp filePreappr) preapproval() (Preapproval, error) {
	p := Preapproval{Pattern: fp.Pattern, Name: fp.Name, Room: fp.Room, Profile: fp.Profile, Created: utc(fp.Created)}
	var err error
	if p.Kind, err = ParseKind(fp.Kind); err != nil {
		return p, err
	}
	return p, p.check()
}

// decodeKeys parses a key store file into s.keys (FORMAT.md §4).
func decodeKeys(data []byte, s *state) error {
	body, hdr, err := splitFile(data, keysMagic)
	if err != nil {
		return err
	}
	var f fileKeys
	if err := decodeStrict(body, hdr, &f); err != nil {
		return err
	}
	if f.Keys == nil {
		return corrupt(`"keys" must be present`)
	}
	for i, fk := range f.Keys {
		if err := checkKeyRef(fk.Ref); err != nil {
			return corrupt("key %d: %v", i, err)
		}
		if _, dup := s.keys[fk.Ref]; dup {
			return corrupt("key %d: ref %q listed twice", i, fk.Ref)
		}
		secret, err := hex.DecodeString(fk.Secret)
		if err != nil || len(secret) != frame.KeyLen || fk.Secret != strings.ToLower(fk.Secret) {
			return corrupt("key %q: secret is not %d bytes of lower-case hex", fk.Ref, frame.KeyLen)
		}
		if fk.Epoch == 0 {
			return corrupt("key %q: epoch 0 (epochs start at 1)", fk.Ref)
		}
		s.keys[fk.Ref] = link.Key{Epoch: fk.Epoch, Secret: secret}
	}
	return nil
}

// checkKeyRef accepts "k-" and 16 lower-case hex digits (FORMAT.md §4).
func checkKeyRef(ref string) error {
	h, ok := strings.CutPrefix(ref, "k-")
	if _, err := hex.DecodeString(h); !ok || err != nil || len(h) != 16 || h != strings.ToLower(h) {
		return fmt.Errorf("%w: key ref %q is not k- and 16 lower-case hex digits", ErrInvalid, ref)
	}
	return nil
}

// checkRefs says whether every key_ref of the registry is in the key store.
// Keys no device refers to are allowed: a crash between writing the key store
// and the registry leaves them (FORMAT.md §5).
func (s *state) checkRefs() error {
	for _, hw := range s.sortedHW() {
		d := s.devices[hw]
		if d.KeyRef == "" {
			continue
		}
		if err := checkKeyRef(d.KeyRef); err != nil {
			return corrupt("device %q: %v", hw, err)
		}
		if _, ok := s.keys[d.KeyRef]; !ok {
			return corrupt("device %q: key_ref %q is not in the key store", hw, d.KeyRef)
		}
	}
	return nil
}

func (s *state) sortedHW() []string {
	hws := make([]string, 0, len(s.devices))
	for hw := range s.devices {
		hws = append(hws, hw)
	}
	slices.Sort(hws)
	return hws
}

// utc normalises a time for storage: UTC, no monotonic reading, so that
// equal instants are equal values and encode to equal bytes.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// checkGlob accepts a path.Match pattern.
func checkGlob(what, p string) error {
	if err := checkText(what, p, 0, maxText); err != nil {
		return err
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("%w: %s %q: %v", ErrInvalid, what, p, err)
	}
	return nil
}
