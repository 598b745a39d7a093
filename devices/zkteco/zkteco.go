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
