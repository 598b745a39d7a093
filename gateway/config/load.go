package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Kind is a device kind the configuration accepts in [[devices]].
type Kind struct {
	Name string
	// NeedsPort: the device is reached over a serial port, so port is
	// required. Kinds wired to GPIO (a Wiegand reader) leave it false; port is
	// then optional.
	NeedsPort bool
}

// DefaultKinds returns the kinds known today, in a fresh slice a caller may
// append to.
func DefaultKinds() []Kind {
	return []Kind{
		{Name: "terminal", NeedsPort: true},
		{Name: "panel", NeedsPort: true},
		{Name: "kiosk"},
		{Name: "reader"},
		{Name: "room"},
		{Name: "zkpush"},
		{Name: "zk4370"},
	}
}

// Opts adjust parsing. A nil *Opts means the defaults.
type Opts struct {
	// Kinds accepted in [[devices]]. Default DefaultKinds().
	Kinds []Kind
}

// MaxFileSize bounds a configuration file: a few hundred devices fit in a
// fraction of it, and a file past it is a mistake (a log, a binary).
const MaxFileSize = 4 << 20

// Load reads and parses the file at path with the default options.
func Load(path string) (*Config, error) { return LoadOpts(path, nil) }

// LoadOpts reads and parses the file at path.
func LoadOpts(path string, opts *Opts) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return ParseOpts(path, data, opts)
}

// Parse validates a configuration document with the default options. name is
// the file name errors are reported under (and the base of relative paths).
func Parse(name string, data []byte) (*Config, error) { return ParseOpts(name, data, nil) }

// ParseOpts validates a configuration document. The error, when not nil,
// joins one *Error per problem found, sorted by line.
func ParseOpts(name string, data []byte, opts *Opts) (*Config, error) {
	if opts == nil {
		opts = &Opts{}
	}
	kinds := opts.Kinds
	if kinds == nil {
		kinds = DefaultKinds()
	}
	p := &problems{file: name, pos: index(data)}
	if len(data) > MaxFileSize {
		p.at("", nil, "file larger than %d bytes", MaxFileSize)
		return nil, p.err()
	}
	var f file
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&f)
	if err != nil {
		// Unknown keys still leave every known key decoded, so the rest is
		// validated too; a syntax or type error leaves nothing reliable.
		p.decodeErrors(err, "", p.pos)
		if !isStrict(err) {
			return nil, p.err()
		}
		p.errs = dropKindTables(p.errs, kinds)
	}
	var raw rawDevices
	if len(f.Devices) > 0 {
		// Second pass for the kind tables strict decoding set aside.
		if err := toml.Unmarshal(data, &raw); err != nil {
			p.decodeErrors(err, "", p.pos)
			return nil, p.err()
		}
	}
	c := &Config{File: name, pos: p.pos}
	v := validator{p: p, c: c, base: baseDir(name), kinds: kinds}
	v.gateway(&f.Gateway)
	v.mqtt(&f.MQTT)
	v.journal(&f.Journal)
	v.http(&f.HTTP)
	v.log(&f.Log)
	v.privacy(&f.Privacy)
	v.provisioning(&f.Prov)
	v.devices(f.Devices, raw.Devices)
	v.sinks(f.Sinks)
	v.console(f.Console)
	if err := p.err(); err != nil {
		return nil, err
	}
	c.Warnings = p.warnings
	return c, nil
}

func isStrict(err error) bool {
	var strict *toml.StrictMissingError
	return errors.As(err, &strict)
}

// dropKindTables removes the "unknown key" errors strict decoding raised for
// [devices.<kind>] tables: those belong to drivers and are checked in devices.
func dropKindTables(errs []*Error, kinds []Kind) []*Error {
	out := errs[:0]
	for _, e := range errs {
		if _, ok := kindTable(e.Key, kinds); !ok {
			out = append(out, e)
		}
	}
	return out
}

// kindTable reports whether key is devices[i].<kind> or under it, and the kind
// part's name.
func kindTable(key string, kinds []Kind) (string, bool) {
	if !strings.HasPrefix(key, "devices[") {
		return "", false
	}
	_, rest, ok := strings.Cut(key, "].")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, ".")
	for _, k := range kinds {
		if k.Name == name {
			return name, true
		}
	}
	return "", false
}

func baseDir(name string) string {
	if name == "" {
		return "."
	}
	return filepath.Dir(name)
}
