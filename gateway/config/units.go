package config

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// sizeUnits are the suffixes ParseSize accepts. Binary units are what disks
// and the journal's defaults are counted in; decimal ones are accepted because
// people write them.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize reads a byte size: an integer with an optional unit, "512MiB",
// "1GiB", "100kB", "4096". Fractions are refused so a size is exact.
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	num = strings.ReplaceAll(num, "_", "")
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case err != nil || num == "" || num[0] == '+' || num[0] == '-':
		if err == nil && n < 0 {
			return 0, errors.New("must not be negative")
		}
		return 0, errors.New(`not a size (want e.g. "512MiB", "1GiB")`)
	case n > math.MaxInt64/mult:
		return 0, errors.New("too large")
	}
	return n * mult, nil
}

// ParseDuration reads a Go duration ("10ms", "1h30m") with one addition: a
// leading whole number of days, "30d" or "1d12h", for retention periods.
func ParseDuration(s string) (time.Duration, error) {
	bad := errors.New(`not a duration (want e.g. "10ms", "5m", "30d")`)
	s = strings.TrimSpace(s)
	var days int64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || i == 0 || s[0] == '+' || s[0] == '-' {
			return 0, bad
		}
		if n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, errors.New("too long")
		}
		days, s = n, s[i+1:]
		if s == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	if days > 0 {
		if d < 0 {
			return 0, bad
		}
		total := time.Duration(days) * 24 * time.Hour
		if d > math.MaxInt64-total {
			return 0, errors.New("too long")
		}
		d += total
	}
	return d, nil
}
