package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// SerialByID is where udev names serial adapters after their serial number:
// unlike /dev/ttyUSB0 the name survives reboots and re-plugging.
const SerialByID = "/dev/serial/by-id/"

// bauds are the rates the serial libraries set on Linux without a custom
// divisor.
var bauds = []int64{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

func (v *validator) devices(fs []fileDevice, raws []map[string]any) {
	ids := map[string]string{}   // id → key of its first entry
	ports := map[string]string{} // port → key of its first entry
	for i, f := range fs {
		key := fmt.Sprintf("devices[%d]", i)
		d := Device{Line: v.p.pos.lineOf(key)}
		if f.ID == nil {
			v.p.at(key+".id", nil, "required")
		} else if v.level(key+".id", *f.ID) {
			if first, dup := ids[*f.ID]; dup {
				v.p.at(key+".id", *f.ID, "duplicate: already used by %s (line %d)", first, v.p.pos.lineOf(first))
			} else {
				ids[*f.ID] = key + ".id"
			}
			d.ID = *f.ID
		}
		kind, known := v.kind(key, f.Kind)
		d.Kind = kind.Name
		if f.Port != nil {
			d.Port = v.port(key+".port", *f.Port)
			if d.Port != "" {
				if first, dup := ports[d.Port]; dup {
					v.p.at(key+".port", *f.Port, "already used by %s (line %d)", first, v.p.pos.lineOf(first))
				} else {
					ports[d.Port] = key + ".port"
				}
			}
		} else if known && kind.NeedsPort {
			v.p.at(key+".port", nil, "required for kind %q", kind.Name)
		}
		switch {
		case f.Baud != nil && f.Port == nil:
			v.p.at(key+".baud", *f.Baud, "set without port")
		case f.Baud != nil && !slices.Contains(bauds, *f.Baud):
			v.p.at(key+".baud", *f.Baud, "not a standard rate %v", bauds)
		case f.Baud != nil:
			d.Baud = int(*f.Baud)
		case f.Port != nil:
			d.Baud = DefaultBaud
		}
		if i < len(raws) {
			d.Options = v.section(key, d.Kind, known, raws[i])
		}
		v.c.Devices = append(v.c.Devices, d)
	}
}

func (v *validator) kind(key string, s *string) (Kind, bool) {
	if s == nil {
		v.p.at(key+".kind", nil, "required")
		return Kind{}, false
	}
	for _, k := range v.kinds {
		if k.Name == *s {
			return k, true
		}
	}
	names := make([]string, len(v.kinds))
	for i, k := range v.kinds {
		names[i] = k.Name
	}
	v.p.at(key+".kind", *s, "unknown kind (want one of %s)", strings.Join(names, ", "))
	return Kind{Name: *s}, false
}

func (v *validator) port(key, s string) string {
	if s == "" || !strings.HasPrefix(s, "/dev/") || strings.ContainsRune(s, 0) || filepath.Clean(s) != s {
		v.p.at(key, s, "want a device path such as %q", SerialByID+"usb-FTDI_FT232R_A10K1Z9X-if00-port0")
		return ""
	}
	if !strings.HasPrefix(s, SerialByID) {
		v.p.warn(key, s, "not under %s: the name can change across reboots and re-plugging", SerialByID)
	}
	return s
}

// section picks the [devices.<kind>] table out of a device's raw entry, and
// refuses the tables of other kinds.
func (v *validator) section(key, kind string, known bool, raw map[string]any) Section {
	s := Section{file: v.p.file, pos: v.p.pos, path: key + "." + keyName([]byte(kind))}
	for _, name := range sortedKeys(raw) {
		sub := key + "." + keyName([]byte(name))
		if _, isKind := kindTable(sub, v.kinds); !isKind {
			continue // a device key, or an unknown key already reported
		}
		if name != kind {
			if known {
				v.p.at(sub, nil, "options for kind %q on a %q device", name, kind)
			}
			continue
		}
		t, ok := raw[name].(map[string]any)
		if !ok {
			v.p.at(sub, raw[name], "want a table ([%s] or %s = { … })", "devices."+name, name)
			continue
		}
		s.raw = t
	}
	return s
}
