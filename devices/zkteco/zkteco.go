// Package zkteco owns what the ZKTeco protocols share: the natural key of a punch.
//
// The same punch reaching the gateway through PUSH (HTTP) or the 4370 binary
// protocol gets the same event id because both drivers derive it here.
package zkteco

import (
	"strconv"
	"strings"

	"github.com/officegate/officegate/devices"
)

// TimeLayout is how a punch's local time enters PunchKey: the terminal's own
// wall-clock reading, without a zone (ZKTeco terminals record local time; the
// PUSH protocol sends it in exactly this form, the 4370 protocol as six
// numbers that format to it).
const TimeLayout = "2006-01-02 15:04:05"

// PunchKey returns the event source of a punch, identified by what the
// terminal itself stores of it: (serial, PIN, local time, status, verify).
// local must be formatted with TimeLayout. The serial becomes the hardware
// id; the other four make the key, joined so that no two different tuples
// give the same key (the strings are length-prefixed). A punch re-sent after a Stamp reset, a DATA QUERY ATTLOG
// backfill, or fetched over 4370 therefore keeps its id.
func PunchKey(serial, pin, local string, status, verify int) devices.EventSource {
	var b strings.Builder
	b.WriteString("zkteco.punch ")
	for _, f := range []string{pin, local} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte(' ')
	}
	b.WriteString(strconv.Itoa(status))
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(verify))
	return devices.EventSource{HardwareID: serial, Key: b.String()}
}

// Credential maps a punch's Verify code to the contract's credential, by the
// PUSH specification's Appendix 7 (the 4370 protocol's records carry the same
// codes): 1 fingerprint, 3 password, 4 card, 15 face, 25 palm, anything else
// unknown.
func Credential(verify int) string {
	switch verify {
	case 1:
		return "fingerprint"
	case 3:
		return "password"
	case 4:
		return "card"
	case 15:
		return "face"
	case 25:
		return "palm"
	}
	return "unknown"
}

// State maps a punch's Status code (0–5) to the contract's state.
func State(status int) string {
	if status >= 0 && status < len(states) {
		return states[status]
	}
	return "unknown"
}

var states = []string{"in", "out", "break_out", "break_in", "overtime_in", "overtime_out"}

// PunchData is the attendance.punch data of a ZKTeco punch, the same
// whichever protocol brought it: person, credential, state, the work code
// when there is one (not "" or "0"), and the codes as sent under raw.
func PunchData(serial, pin string, status, verify int, workCode string) map[string]any {
	data := map[string]any{
		"person":     pin,
		"credential": Credential(verify),
		"state":      State(status),
		"raw":        map[string]any{"serial": serial, "state": int64(status), "verify": int64(verify)},
	}
	if workCode != "" && workCode != "0" {
		data["work_code"] = workCode
	}
	return data
}
