package config

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "1_024": 1024, "512B": 512, "8KiB": 8 << 10, "8MiB": 8 << 20, "1GiB": 1 << 30,
		"2TiB": 2 << 40, "100kB": 100e3, "100KB": 100e3, "5MB": 5e6, "1GB": 1e9, " 3 MiB ": 3 << 20,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "1.5GiB", "12XB", "-1", "+1", "1 GiB extra", "99999999999TiB", "0x10"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10ms": 10 * time.Millisecond, "1h30m": 90 * time.Minute, "30d": 30 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "0s": 0, "0d": 0,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "30", "1.5d", "-1d", "1d-1h", "30days", "1d1d", "999999999d", "106751d23h47m16.854775808s"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}
