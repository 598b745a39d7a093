package roomdrv

import (
	"errors"
	"fmt"

	"github.com/officegate/officegate/devices/pir"
)

// ErrPanelEvent marks a panel event whose body breaks PROTOCOL.md §9.4.
var ErrPanelEvent = errors.New("roomdrv: panel event body")

// PanelData checks the body of a panel event of type typ (PanelButton or
// PanelOccupancy) against PROTOCOL.md §9.4 and returns it as the contract
// publishes it (MQTT.md §5.6): {"button": 1–32} or {"state":
// "occupied"|"vacant"}, with any other key left out (§4.1: unknown keys are
// ignored). ok is false for another type. A body that breaks the rules is an
// error wrapping ErrPanelEvent, quoting what was wrong.
func PanelData(typ string, data map[string]any) (out map[string]any, ok bool, err error) {
	switch typ {
	case PanelButton:
		n, isNum := buttonNumber(data["button"])
		if !isNum || n < 1 || n > MaxButton {
			return nil, true, fmt.Errorf("%w: %s button %s is not a key number 1–%d", ErrPanelEvent, typ, quote(data, "button"), MaxButton)
		}
		return map[string]any{"button": n}, true, nil
	case PanelOccupancy:
		s, _ := data["state"].(string)
		if st := pir.State(s); st != pir.StateOccupied && st != pir.StateVacant {
			return nil, true, fmt.Errorf("%w: %s state %s is not %q or %q", ErrPanelEvent, typ, quote(data, "state"), pir.StateOccupied, pir.StateVacant)
		}
		return map[string]any{"state": s}, true, nil
	}
	return nil, false, nil
}

// quote shows data[key] for an error: quoted text, a number or bool as it
// is, "missing" when absent. Text is cut short: it came from a device.
func quote(data map[string]any, key string) string {
	v, ok := data[key]
	switch {
	case !ok:
		return "missing"
	case v == nil:
		return "null"
	}
	if s, isText := v.(string); isText {
		if len(s) > 32 {
			s = s[:32] + "…"
		}
		return fmt.Sprintf("%q", s)
	}
	s := fmt.Sprintf("%v", v)
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return s
}
