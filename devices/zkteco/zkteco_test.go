package zkteco

import (
	"testing"

	"github.com/officegate/officegate/devices"
)

// TestPunchKey: each field of the natural key counts, and fields cannot bleed
// into each other (a PIN holding the separator, a PIN that is a prefix).
func TestPunchKey(t *testing.T) {
	const at = "2026-01-05 08:59:58"
	keys := map[devices.EventSource]string{}
	for name, k := range map[string]devices.EventSource{
		"base":        PunchKey("CQZ7224460", "1", at, 0, 1),
		"serial":      PunchKey("CQZ7224461", "1", at, 0, 1),
		"pin":         PunchKey("CQZ7224460", "10", at, 0, 1),
		"pin-sep":     PunchKey("CQZ7224460", "1 2026-01-05", "08:59:58", 0, 1),
		"time":        PunchKey("CQZ7224460", "1", "2026-01-05 08:59:59", 0, 1),
		"status":      PunchKey("CQZ7224460", "1", at, 1, 1),
		"verify":      PunchKey("CQZ7224460", "1", at, 0, 15),
		"status-verb": PunchKey("CQZ7224460", "1", at, 10, 0),
	} {
		if k.Boot != 0 || k.Seq != 0 || k.Key == "" {
			t.Errorf("%s: %+v: want a key and no counters", name, k)
		}
		if prev, ok := keys[k]; ok {
			t.Errorf("%s and %s share the source %+v", name, prev, k)
		}
		keys[k] = name
	}
	if PunchKey("S", "7", at, 0, 1) != PunchKey("S", "7", at, 0, 1) {
		t.Error("the same punch gave two keys")
	}
	if got := PunchKey("S", "7", at, 0, 1).HardwareID; got != "S" {
		t.Errorf("hardware id %q, want the serial", got)
	}
}

// TestPunchData: the mapping of the PUSH specification's codes, and unknown
// codes kept as unknown with the raw value.
func TestPunchData(t *testing.T) {
	d := PunchData("S1", "10042", 1, 15, "0")
	if d["person"] != "10042" || d["credential"] != "face" || d["state"] != "out" || d["work_code"] != nil {
		t.Errorf("%v", d)
	}
	raw := d["raw"].(map[string]any)
	if raw["serial"] != "S1" || raw["state"] != int64(1) || raw["verify"] != int64(15) {
		t.Errorf("raw %v", raw)
	}
	if d := PunchData("S1", "1", 9, 2, "7"); d["credential"] != "unknown" || d["state"] != "unknown" || d["work_code"] != "7" {
		t.Errorf("%v", d)
	}
}
