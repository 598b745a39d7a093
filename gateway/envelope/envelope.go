// Package envelope owns what the gateway publishes: event envelopes and command
// results. It makes their stable ids and renders them as JSON or CBOR
// (gateway/MQTT.md is the contract; its JSON Schemas validate this package's
// output in tests).
package envelope

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Version is the envelope version, "v" on the wire. It changes only with a
// change that breaks consumers (MQTT.md, "Versioning").
const Version = 1

// Clock states: how far the device's clock can be trusted for "time".
const (
	ClockSynced  = "synced"  // synced by the gateway within the drift threshold
	ClockDrifted = "drifted" // synced, but drifted past the threshold since
	ClockUnknown = "unknown" // never synced (e.g. after a power loss without RTC)
)

// Event is one event as consumers receive it.
type Event struct {
	V        int    `json:"v" cbor:"1,keyasint"`
	ID       string `json:"id" cbor:"2,keyasint"`      // stable across every retry and restart
	Type     string `json:"type" cbor:"3,keyasint"`    // e.g. attendance.punch
	Gateway  string `json:"gateway" cbor:"4,keyasint"` // gateway id
	Device   string `json:"device" cbor:"5,keyasint"`  // device id
	Boot     uint32 `json:"boot" cbor:"6,keyasint"`    // device boot counter the event was recorded in
	Seq      uint64 `json:"seq" cbor:"7,keyasint"`     // device's event counter within Boot
	Time     Stamp  `json:"time" cbor:"8,keyasint"`    // device clock, with the configured zone applied
	TimeRaw  string `json:"time_raw" cbor:"9,keyasint"`
	Clock    string `json:"clock" cbor:"10,keyasint"`
	Received Stamp  `json:"received" cbor:"11,keyasint"` // gateway clock, UTC
	// Data is the type-specific body, kept as CBOR so that what is journaled is
	// exactly what is published on every retry.
	Data cbor.RawMessage `json:"-" cbor:"12,keyasint,omitempty"`
	// ClockOffsetMS is, for a drifted clock, the device clock minus the
	// gateway's when the event was recorded, as measured; nil otherwise.
	ClockOffsetMS *int64 `json:"clock_offset_ms,omitempty" cbor:"13,keyasint,omitempty"`
}

// Result answers one command, exactly once.
type Result struct {
	V       int             `json:"v" cbor:"1,keyasint"`
	ID      string          `json:"id" cbor:"2,keyasint"` // the command's id
	Gateway string          `json:"gateway" cbor:"3,keyasint"`
	Device  string          `json:"device,omitempty" cbor:"4,keyasint,omitempty"` // empty for gateway commands
	Command string          `json:"command" cbor:"5,keyasint"`
	Status  string          `json:"status" cbor:"6,keyasint"`
	Error   string          `json:"error,omitempty" cbor:"7,keyasint,omitempty"`
	Time    Stamp           `json:"time" cbor:"8,keyasint"` // when the result was decided (gateway clock, UTC)
	Data    cbor.RawMessage `json:"-" cbor:"9,keyasint,omitempty"`
}

// Result statuses.
const (
	StatusOK          = "ok"
	StatusError       = "error"
	StatusExpired     = "expired"
	StatusUnsupported = "unsupported"
	StatusBusy        = "busy"
)

// Stamp is an instant with the UTC offset it was observed in; it renders as
// RFC 3339 with milliseconds ("2026-11-24T09:01:02.123+08:00").
type Stamp struct {
	UnixMs    int64 `cbor:"1,keyasint"`
	OffsetMin int16 `cbor:"2,keyasint"` // minutes east of UTC
}

// StampOf converts t, keeping its zone's offset.
func StampOf(t time.Time) Stamp {
	_, off := t.Zone()
	return Stamp{UnixMs: t.UnixMilli(), OffsetMin: int16(off / 60)}
}

// Time returns the instant in a fixed zone with the stamp's offset.
func (s Stamp) Time() time.Time {
	return time.UnixMilli(s.UnixMs).In(time.FixedZone("", int(s.OffsetMin)*60))
}

// stampLayout is the wire form of a Stamp.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

func (s Stamp) String() string { return string(s.AppendText(nil)) }

// AppendText appends the stamp's RFC 3339 form, as Time().Format with
// stampLayout writes it (TestStampAppendText), without making a zone: every
// envelope rendered carries two of them.
func (s Stamp) AppendText(dst []byte) []byte {
	const maxOffset = 24 * 60 // beyond it Format writes three-digit hours
	if s.OffsetMin <= -maxOffset || s.OffsetMin >= maxOffset {
		return s.Time().AppendFormat(dst, stampLayout)
	}
	// The wall clock at the offset is the UTC clock of the shifted instant.
	t := time.UnixMilli(s.UnixMs).Add(time.Duration(s.OffsetMin) * time.Minute).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return s.Time().AppendFormat(dst, stampLayout)
	}
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append(dst, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	off := int(s.OffsetMin)
	switch {
	case off == 0:
		return append(dst, 'Z')
	case off < 0:
		dst, off = append(dst, '-'), -off
	default:
		dst = append(dst, '+')
	}
	h, m := off/60, off%60
	return append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10))
}

// MarshalJSON renders the RFC 3339 form.
func (s Stamp) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// EventID derives an event's id from what the device gave it: the device's
// hardware id, boot counter and event counter. The same event resent after any
// retry, reconnect or gateway restart gets the same id; consumers deduplicate by
// it. It is shaped as a UUID (version 8, "custom") so it fits a UUID column, and
// it does not reveal the hardware id.
func EventID(hardwareID string, boot uint32, seq uint64) string {
	// The hash input on the stack: one is made for every event taken in.
	const prefix = "officegate event v1\x00"
	var buf [128]byte
	in := append(buf[:0], prefix...)
	in = append(in, hardwareID...)
	in = append(in, 0)
	in = binary.BigEndian.AppendUint32(in, boot)
	in = binary.BigEndian.AppendUint64(in, seq)
	sum := sha256.Sum256(in)
	return uuid8(sum[:])
}

// KeyID derives the id of an event a device identifies by a natural key
// instead of counters (devices.EventSource.Key: a ZKTeco punch). Its input
// starts "officegate key v1\x00", differing from EventID's and NoteID's in the
// 12th byte, and the hardware id and key are length prefixed, so a keyed id
// is never the id of a counted event, of a note, or of another (hardware id,
// key).
func KeyID(hardwareID, key string) string {
	h := sha256.New()
	h.Write([]byte("officegate key v1\x00"))
	var b [binary.MaxVarintLen64]byte
	for _, f := range []string{hardwareID, key} {
		h.Write(binary.AppendUvarint(b[:0], uint64(len(f))))
		h.Write([]byte(f))
	}
	return uuid8(h.Sum(nil))
}

// Notes the gateway derives from a device's event, each its own id namespace
// under NoteID.
const (
	NoteEventsLost = "events_lost" // the device.events_lost note before the event
	NoteBiometric  = "biometric"   // the biometric_refused alarm beside the event
)

// NoteID derives the id of an event the gateway makes about a device's event
// (NoteEventsLost, NoteBiometric): stable like the event's own id, so every
// journaling of the note carries the same one, and never the id of any device
// event nor of another note. EventID's input starts "officegate event v1\x00",
// NoteID's "officegate note v1\x00": the hash inputs of the two differ in
// their 12th byte, and within NoteID the note name and hardware id are length
// prefixed, so two different (note, hardware id, boot, seq) never share an
// input. A shared id then takes a SHA-256 collision in 122 bits.
func NoteID(note, hardwareID string, boot uint32, seq uint64) string {
	h := sha256.New()
	h.Write([]byte("officegate note v1\x00"))
	var b [binary.MaxVarintLen64 + 12]byte
	for _, f := range []string{note, hardwareID} {
		h.Write(binary.AppendUvarint(b[:0], uint64(len(f))))
		h.Write([]byte(f))
	}
	binary.BigEndian.PutUint32(b[0:4], boot)
	binary.BigEndian.PutUint64(b[4:12], seq)
	h.Write(b[:12])
	return uuid8(h.Sum(nil))
}

// NewID is a random id for events the gateway itself originates (a Wiegand read
// on GPIO has no device memory to retry from; a device's status change): it is
// drawn once, journaled with the event, and so is the same on every publish of
// it. It is a version-4 UUID: derived ids (EventID, NoteID) are version 8, so a
// drawn id can never equal a derived one.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux ≥ 3.17 (getrandom); if it ever does
		// there is no safe id to make.
		panic(fmt.Sprintf("envelope: crypto/rand: %v", err))
	}
	return uuidString(b, 4)
}

func uuid8(sum []byte) string {
	var u [16]byte
	copy(u[:], sum[:16])
	return uuidString(u, 8)
}

// uuidString sets the version and the RFC 9562 variant and renders u.
func uuidString(u [16]byte, version byte) string {
	u[6] = u[6]&0x0f | version<<4
	u[8] = u[8]&0x3f | 0x80
	var x [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			x[j] = '-'
			j++
		}
		x[j], x[j+1] = hexDigits[b>>4], hexDigits[b&0xf]
		j += 2
	}
	return string(x[:])
}
