package pushdrv

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkteco"
)

// Event types of OPERLOG records (MQTT.md §5.9).
const (
	// TypeOperation is an OPLOG record: something done at the terminal
	// (§11.4), in the control stream with the terminal's alarms.
	TypeOperation = "device.operation"
	// TypeUser is a USER record: the terminal's user table changed at the
	// terminal (§11.5), in the attendance stream with the punches.
	TypeUser = "attendance.user"
)

// operation is the device.operation event of an OPLOG record: its time is
// the terminal's, its id derives from the whole record, so the terminal
// re-sending it publishes it under the same id.
func (d *Driver) operation(op *zkpush.OpLog) devices.Event {
	t, _ := time.ParseInLocation(zkteco.TimeLayout, op.Time, d.set.loc) // ParseOperLine checked it
	data := map[string]any{"op": op.Op, "values": []any{op.Values[0], op.Values[1], op.Values[2]},
		"raw": map[string]any{"serial": d.set.serial}}
	if op.Who != "" && op.Who != "0" {
		data["operator"] = op.Who
	}
	key := fmt.Sprintf("zkpush.oplog %d %d:%s %s %d %d %d", op.Op, len(op.Who), op.Who, op.Time, op.Values[0], op.Values[1], op.Values[2])
	return devices.Event{Device: d.id, Type: TypeOperation, Time: t, TimeRaw: op.Time, Clock: d.clockAt(t), Data: data,
		Source: devices.EventSource{HardwareID: d.set.serial, Key: key}}
}

// user is the attendance.user event of a USER record. What must not leave
// the terminal never enters it: the password is not even parsed, a card
// number becomes card_hash under the site card key (devices.KeyedHash; with
// no key only has_card says there is one), templates are other records and
// refused. The record has no time: the event's is the gateway's when the
// record arrived. Its id derives from what the event carries (never from
// the password or a clear card number, which a hash of a small space would
// give away), so a record re-sent after a crash keeps its id.
func (d *Driver) user(u *zkpush.User) devices.Event {
	role := "user"
	if u.Pri == 6 || u.Pri == 14 { // administrator, super administrator (§12.1.1.1)
		role = "admin"
	}
	data := map[string]any{"person": u.PIN, "name": u.Name, "role": role, "group": u.Group,
		"raw": map[string]any{"serial": d.set.serial, "pri": u.Pri}}
	card := ""
	if u.Card != "" && u.Card != "0" && strings.Trim(u.Card, "[0]") != "" {
		if d.cardKey != nil {
			card = devices.KeyedHash(d.cardKey, u.Card)
			data["card_hash"] = card
		} else {
			card = "card"
			data["has_card"] = true
		}
	}
	var b strings.Builder
	b.WriteString("zkpush.user")
	for _, f := range []string{u.PIN, u.Name, strconv.Itoa(u.Pri), strconv.Itoa(u.Group), card} {
		fmt.Fprintf(&b, " %d:%s", len(f), f)
	}
	now := d.now()
	return devices.Event{Device: d.id, Type: TypeUser, Time: now, Clock: devices.ClockSynced, Data: data,
		Source: devices.EventSource{HardwareID: d.set.serial, Key: b.String()}}
}
