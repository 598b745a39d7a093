package link

import (
	"context"
	"time"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// Sink makes what the device sends durable. The gateway link calls Commit
// from one goroutine per Run, never the one reading the port, once for
// each new EVENT and RESULT the device sends, in the device's order, and
// acknowledges the frame to the device only after Commit returned nil
// (PROTOCOL.md §5.3). Commit may also be called from a Send caller's
// goroutine for a result the gateway made itself, so it must be safe for
// concurrent use.
//
// Commit returns nil only once rec is durable: in the journal and
// fsync'd, together with the event high-water mark it implies (the event's
// id). Any error means "not stored": the link answers BUSY and the device
// keeps the record and sends it again after the retry time (§5.5).
// Wrapping ErrBusy says the refusal is back-pressure (disk full); other
// errors are also logged. Nothing is ever acknowledged that Commit did not
// accept.
//
// Within one Gateway the link never commits an event twice: it drops
// every event at or below the high-water mark. A fresh Gateway (after a
// restart of the gateway process) starts from Store's mark (see Store);
// an event the device still holds because its acknowledgement was lost in
// the restart is at or below it, and dropped the same way. RESULTs are
// deduplicated by command id within one Gateway only, for the same reason.
type Sink interface {
	Commit(ctx context.Context, rec Record) error
}

// BatchSink is an optional Sink ability: committing several events at once,
// durable together or not at all. A device sends a window of events before it
// needs an acknowledgement; with a journal whose commits are paced (one
// fsync per window of time), committing them one by one would cap a device at
// one event per commit. The link gives CommitBatch the events already waiting,
// in the device's order.
type BatchSink interface {
	Sink
	CommitBatch(ctx context.Context, recs []Record) error
}

// Store tells the gateway link what is durable about a device across
// restarts of the gateway (PROTOCOL.md §6.4). The gateway implements it on
// its journal.
//
// Mark must return exactly the highest event id the journal durably holds
// (written in the same commit as the event, §6.4). It must NEVER be above
// it: the device deletes every record at or below the mark it is told, so a
// mark that is too high loses data. Nor should it be below: the device has
// forgotten every event the gateway acknowledged, so the link takes the
// distance between a low mark and the first event the device still holds
// for events the device lost (Record.Missing: a false gap report). Only a
// mark that is unknown (zero, after its store was damaged) is safe to
// under-report: the link checks no gap against it, and the device resends
// what it holds, which consumers deduplicate by id. Boot may be lower than
// the truth: that only weakens the boot_regressed check (§6.1).
type Store interface {
	Mark(ctx context.Context, hardwareID string) (Mark, error)
	// SaveBoot records the boot id of a HELLO the gateway accepts. It may
	// be lazy (see Mark).
	SaveBoot(ctx context.Context, hardwareID string, boot uint32) error
}

// Mark is what the gateway knows durably of one device.
type Mark struct {
	Boot      uint32      // highest device boot id seen, 0 if none
	HighWater msg.EventID // highest event id committed, zero if none
}

// Directory says who a device is (enrollment, PROTOCOL.md §6.1). A nil
// Directory enrolls every device under its hardware id, without a key.
type Directory interface {
	Lookup(ctx context.Context, h *msg.Hello) (Identity, error)
}

// Enrollment is a device's standing with the gateway.
type Enrollment int

const (
	Enrolled Enrollment = iota // known: the session opens
	Pending                    // unknown or awaiting approval: CLOSE pending
	Retired                    // retired: CLOSE retired
	// Keying: approved, no link key yet. A device that offers its
	// enrollment key (HELLO key 19) agrees one (§6.7): the gateway stores it
	// through the Directory's KeyStore and answers CLOSE enrolled; one that
	// does not is told auth_required.
	Keying
)

// Identity is what the gateway holds for an enrolled hardware id.
type Identity struct {
	Enrollment Enrollment
	DeviceID   string // the MQTT topic level; defaults to the hardware id
	// Key, if set, is the link key: every frame either way is tagged and
	// an untagged HELLO is refused (PROTOCOL.md §2.5).
	Key *Key
	// Config is the configuration the device should have; nil for none.
	// SetConfig overrides it.
	Config []byte
	// Retry is the wait a Pending device is told; 0 means 30 s.
	Retry time.Duration

	offer *msg.Enroll // set by the worker for Keying: the CLOSE enrolled to send
}

// Key is a link key and the epoch that names it.
type Key struct {
	Epoch  uint16
	Secret []byte // frame.KeyLen bytes
}

// RecordKind says what a Record carries.
type RecordKind int

const (
	RecordEvent     RecordKind = iota + 1 // Event is set
	RecordResult                          // Result is set
	RecordMalformed                       // a sequenced frame whose body failed to decode (§5.7)
)

// Record is one thing for the Sink to make durable.
type Record struct {
	Kind       RecordKind
	HardwareID string
	DeviceID   string
	DeviceBoot uint32    // the device boot of the session it came in
	DeviceKind msg.Kind  // declared in the session's HELLO (§5.1): what its events mean travels with them
	Received   time.Time // gateway clock

	// RecordEvent.
	Event *msg.Event
	// Missing is how many events of the same boot the device lost just
	// before this one (its store overflowed, §6.4): journal a gap record.
	Missing uint32
	// Clock is the device clock's standing when the event arrived (§8).
	Clock ClockInfo

	// RecordResult.
	Result *msg.Result
	// Synthesized says the gateway answered the command itself: it expired
	// before it could be sent, the device lacks the capability, it was too
	// large, or the device restarted with the outcome unknown (§6.4).
	Synthesized bool

	// RecordMalformed: the frame type, the raw body and why it failed.
	Type frame.Type
	Body []byte
	Err  string
}

// SyncState is how far a device's clock can be trusted (§8).
type SyncState int

const (
	ClockUnknown SyncState = iota // never measured, or the device says it is unset
	ClockSynced                   // within 1 s of the gateway at the last exchange
	ClockDrifted                  // off by more, not yet corrected
)

func (s SyncState) String() string {
	switch s {
	case ClockSynced:
		return "synced"
	case ClockDrifted:
		return "drifted"
	}
	return "unknown"
}

// ClockInfo is the result of the last time sync with a device (§8).
type ClockInfo struct {
	State SyncState
	// Offset is θ, the device clock minus the gateway clock: a device time
	// t corresponds to gateway time t − Offset.
	Offset time.Duration
	Delay  time.Duration // δ of the sample kept
	At     time.Time     // when it was measured (gateway clock); zero if never
	Device msg.ClockState
	// Steps counts the clock steps this link has made (since the gateway
	// started); StepOffset is the offset the last one corrected.
	Steps      uint64
	StepOffset time.Duration
}

// Status is what the gateway knows of the device on its port.
type Status struct {
	Online     bool // a session is up and the device was heard within 3 heartbeats
	HardwareID string
	DeviceID   string
	Model      string
	Kind       msg.Kind
	Firmware   string
	Boot       uint32
	Caps       msg.Caps // negotiated
	Image      msg.ImageState
	Reverted   string   // version the bootloader reverted, if Image is ImageReverted
	RevertCode msg.Code // why
	ConfigHash []byte   // configuration the device last said it has
	// Refused is the code of the CLOSE that answered the last HELLO
	// (pending, retired, auth_required, …), 0 when the session opened.
	Refused msg.Code
	// RefusedHardwareID is the hardware id the refused HELLO claimed.
	RefusedHardwareID string
	Clock             ClockInfo
	LastSeen          time.Time
}

// TimeSync tunes the time-sync exchange (PROTOCOL.md §8). Zero fields
// take the defaults.
type TimeSync struct {
	Every    time.Duration // between rounds; default 10 min
	Samples  int           // TIME_REQs per round; default 3
	Spacing  time.Duration // between them; default 2 s
	MaxDelay time.Duration // samples with a longer round trip are discarded; default 200 ms (1 s at 9600 and below; PROTOCOL.md §5.4)
	Step     time.Duration // step the device clock when off by more; default 1 s
}

// GatewayConfig configures a Gateway. Sink is required.
type GatewayConfig struct {
	Sink      Sink
	Store     Store     // nil: nothing durable, every device starts from mark zero
	Directory Directory // nil: everyone enrolled, no key
	Timing    Timing
	TimeSync  TimeSync
	Clock     Clock         // nil: the system clock
	Rand      func() uint64 // nil: math/rand/v2; session ids and transfer ids
	// Logf, if set, receives rare diagnostics (sink refusals, bad MACs).
	// It is called with the link's mutex held and must not block.
	Logf func(format string, args ...any)
}
