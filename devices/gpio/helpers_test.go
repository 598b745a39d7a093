package gpio_test

import (
	"strings"
	"time"

	"github.com/officegate/officegate/devices/gpio/gpiosim"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// levels renders a pin's history compactly: "L@0s H@0s L@3s" (times from t0).
func levels(h []gpiosim.Change) string {
	var b strings.Builder
	for i, c := range h {
		if i > 0 {
			b.WriteByte(' ')
		}
		if c.Level {
			b.WriteString("H@")
		} else {
			b.WriteString("L@")
		}
		b.WriteString(c.Time.Sub(t0).String())
	}
	return b.String()
}
