package msg_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/internal/testvectors"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

var update = flag.Bool("update", false, "rewrite ../testvectors.txt from the table in vectors_test.go")

const vectorsPath = "../testvectors.txt"

// The test key and session every tagged vector uses (PROTOCOL.md §12).
var (
	testKey  = seqBytes(0x00, 0x1f)
	testAuth = frame.Auth{Epoch: 1, Key: testKey, DeviceBoot: 7, GatewayBoot: 0x5eed0001}
	// The firmware signing key of the vectors, from a fixed seed so the
	// Ed25519 signature is reproducible.
	testSigner = ed25519.NewKeyFromSeed(seqBytes(0x20, 0x3f))
)

func seqBytes(from, to int) []byte {
	var b []byte
	for i := from; i <= to; i++ {
		b = append(b, byte(i))
	}
	return b
}

// testImage is 1000 bytes: 512 non-zero bytes (so the first chunk holds
// runs longer than 254 bytes for COBS) then 488 zero bytes (so the second
// holds nothing but code bytes).
var testImage = func() []byte {
	b := make([]byte, 1000)
	for i := 0; i < 512; i++ {
		b[i] = byte(i%255 + 1)
	}
	return b
}()

var (
	imageSHA  = sha256.Sum256(testImage)
	imageSig  = ed25519.Sign(testSigner, msg.FirmwareSigningInput(imageSHA[:]))
	configRaw = mustCBOR(map[string]any{"lang": "zh-CN", "beep": true, "door_ms": 3000})
	configSHA = sha256.Sum256(configRaw)
)

func mustCBOR(v any) []byte {
	em, _ := cbor.CoreDetEncOptions().EncMode()
	b, err := em.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

const (
	t0    = 1764000000000 // 2025-11-24T16:00:00Z in ms
	cmdID = "c1b9e0d2-6a7f-4c1e-9a57-0e1f2a3b4c5d"
)

// goodVectors tell one story: a kiosk boots (boot 7) with events of its
// previous boot (6) still in flash, says HELLO, is welcomed into gateway
// boot 0x5eed0001, resends an old punch, and so on. Most are untagged to
// keep them short; once a device is enrolled every frame either way is
// tagged, as the -tagged vectors show.
type goodVector struct {
	name  string
	means string
	m     msg.Message
	flags frame.Flags
	seq   uint32
	ack   uint32
	auth  bool
}

var goodVectors = []goodVector{
	{"hello", "HELLO from a kiosk after its 7th boot, no session to resume (gateway boot 0, ack 0), untagged: it has no link key yet, so it offers the auth capability with its enrollment key (key 19, §6.7; X25519 private key 40 41 … 5f); its clock is unset (key 18 absent = 0, §4.1) and reads 1000 ms",
		&msg.Hello{HardwareID: "KS-8C1F6440A2B1", Model: "OG-KIOSK-2", Kind: msg.KindKiosk, Firmware: "1.4.2", Boot: 7,
			Caps:     msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth,
			ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8, Time: 1000, Clock: msg.ClockUnset, EnrollPub: kioskEnrollPub},
		frame.FlagFromDevice, 0, 0, false},
	{"welcome", "WELCOME: new session in gateway boot 0x5eed0001; events up to [6, 41] are already committed, the device drops them. Untagged, as to a device enrolled without a link key; once keyed, WELCOME is tagged (welcome-tagged, §6.6)",
		&msg.Welcome{DeviceID: "kiosk-3f-01", Time: t0, ConfigHash: configSHA[:], Window: 8, Heartbeat: 2000, Proto: 1,
			Caps: msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth, GatewayBoot: 0x5eed0001,
			EventAck: &msg.EventID{Boot: 6, Seq: 41}, MTU: 1024, RTO: 500},
		0, 0, 0, false},
	{"hello-tagged", "HELLO resuming the session after a cable pull (same boots, device delivered gateway seq 3), tagged with the test key in the handshake context (device boot 7, gateway boot 0)",
		&msg.Hello{HardwareID: "KS-8C1F6440A2B1", Model: "OG-KIOSK-2", Kind: msg.KindKiosk, Firmware: "1.4.2", Boot: 7,
			Caps:     msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth,
			ProtoMin: 1, ProtoMax: 1, GatewayBoot: 0x5eed0001, Ack: 3, MTU: 1024, Window: 8, ConfigHash: configSHA[:],
			Time: t0 + 60_000, Clock: msg.ClockSet},
		frame.FlagFromDevice, 0, 0, true},
	{"close", "CLOSE answering a HELLO from an unknown hardware id: pending enrollment, say HELLO again in 30 s",
		&msg.Close{Code: msg.CodePending, Text: "enrollment pending", Retry: 30000}, 0, 0, 0, false},
	{"hello-enroll", "HELLO from a terminal without a link key, offering its X25519 enrollment key (the RFC 7748 §6.1 test key of Alice)",
		&msg.Hello{HardwareID: "TERM-0001", Model: "OG-EMU-1", Kind: msg.KindAttendance, Firmware: "1.0.0", Boot: 1,
			Caps: msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapAuth, ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8,
			EnrollPub: unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")},
		frame.FlagFromDevice, 0, 0, false},
	{"close-enrolled", "CLOSE enrolled: the gateway's X25519 key (Bob's, RFC 7748 §6.1) and epoch 1; with hello-enroll both ends derive the link key of §6.7",
		&msg.Close{Code: msg.CodeEnrolled, Text: "enrolled",
			Enroll: &msg.Enroll{Pub: unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), Epoch: 1}}, 0, 0, 0, false},
	{"heartbeat", "HEARTBEAT from the device, 15 s after boot, acknowledging gateway seq 3",
		&msg.Heartbeat{Uptime: 15000}, frame.FlagFromDevice, 0, 3, false},
	{"ack", "standalone ACK from the device: gateway frames up to seq 5 delivered",
		&msg.Ack{}, frame.FlagFromDevice, 0, 5, false},
	{"busy", "BUSY from the gateway: device frame 6 refused (journal full), retry in 1 s; frames up to 5 are acknowledged",
		&msg.Busy{Seq: 6, Retry: 1000}, 0, 0, 5, false},
	// Two exchanges of §8 that pair up: the first measures a device clock
	// 1500 ms behind, the second steps it and measures it again.
	{"time-req", "TIME_REQ 1: gateway clock T1, no adjustment (a measurement)",
		&msg.TimeReq{ID: 1, T1: t0 + 123}, 0, 0, 0, false},
	{"time-resp", "TIME_RESP 1 answering time-req: T1 echoed, device clock at receipt (T2) and at send (T3); the gateway receives it at T4 = 1764000000133: θ = ((T2 − T1) + (T3 − T4)) / 2 = −1500 ms, δ = (T4 − T1) − (T3 − T2) = 8 ms; no key 6, no step was asked",
		&msg.TimeResp{ID: 1, T1: t0 + 123, T2: t0 - 1373, T3: t0 - 1371, Clock: msg.ClockSet}, frame.FlagFromDevice, 0, 0, false},
	{"time-req-step", "TIME_REQ 2: |θ| > 1000 ms, so the gateway steps the device clock by adjust = −θ = +1500 ms",
		&msg.TimeReq{ID: 2, T1: t0 + 2123, Adjust: 1500}, 0, 0, 0, false},
	{"time-resp-step", "TIME_RESP 2 answering time-req-step: T2 read after applying the adjustment; received at T4 = 1764000002133: θ = 0, δ = 8 ms; key 6: events from seq 57 on carry the stepped clock",
		&msg.TimeResp{ID: 2, T1: t0 + 2123, T2: t0 + 2127, T3: t0 + 2129, Clock: msg.ClockSet, Next: 57}, frame.FlagFromDevice, 0, 0, false},
	{"event", "EVENT seq 1: a punch recorded in the previous boot (event id [6, 42]) resent from flash",
		&msg.Event{ID: msg.EventID{Boot: 6, Seq: 42}, Kind: "punch", Time: t0 - 5000, Clock: msg.ClockSet,
			Data: map[string]any{"user": "10234", "verify": "card", "state": uint64(0)}},
		frame.FlagFromDevice, 1, 0, false},
	{"event-tagged", "EVENT seq 2, tagged with the test key in session (device boot 7, gateway boot 0x5eed0001): the room is occupied",
		&msg.Event{ID: msg.EventID{Boot: 7, Seq: 1}, Kind: "occupancy", Time: t0 + 1000, Clock: msg.ClockSet,
			Data: map[string]any{"occupied": true, "zone": []any{uint64(1), uint64(2)}}},
		frame.FlagFromDevice, 2, 1, true},
	{"command", "COMMAND seq 1: release the door for 3 s, refuse after the deadline",
		&msg.Command{ID: cmdID, Name: "door_release", Args: map[string]any{"ms": uint64(3000)}, Deadline: t0 + 30_000},
		0, 1, 2, false},
	{"result", "RESULT seq 3 for that command: ok",
		&msg.Result{ID: cmdID, Status: msg.StatusOK, Data: map[string]any{"released_ms": uint64(3000)}},
		frame.FlagFromDevice, 3, 1, false},
	{"result-error", "RESULT for a command the device does not know",
		&msg.Result{ID: "a7", Status: msg.StatusUnsupported, Error: "unknown command \"reboot_printer\""},
		frame.FlagFromDevice, 4, 1, false},
	{"config", "CONFIG seq 2: the configuration and its SHA-256",
		&msg.Config{Hash: configSHA[:], Config: configRaw}, 0, 2, 3, false},
	{"config-status", "CONFIG_STATUS seq 5: already in force (same hash), nothing done",
		&msg.ConfigStatus{Hash: configSHA[:], State: msg.ConfigUnchanged}, frame.FlagFromDevice, 5, 2, false},
	{"fw-offer", "FW_OFFER seq 3: transfer 1, a 1000-byte image, its SHA-256 and Ed25519 signature (test signing key), version 1.5.0",
		&msg.FwOffer{Xfer: 1, Size: uint32(len(testImage)), SHA256: imageSHA[:], Signature: imageSig, Version: "1.5.0"}, 0, 3, 5, false},
	{"fw-status-offer", "FW_STATUS seq 6: the device holds nothing of transfer 1 yet: send from offset 0",
		&msg.FwStatus{Xfer: 1, Offset: 0, State: msg.FwReceiving}, frame.FlagFromDevice, 6, 3, false},
	{"fw-chunk", "FW_CHUNK seq 4: image bytes 0..511, no zero among them (COBS runs of 254 bytes)",
		&msg.FwChunk{Xfer: 1, Offset: 0, Data: testImage[:512]}, 0, 4, 6, false},
	{"fw-chunk-zeros", "FW_CHUNK seq 5: image bytes 512..999, all zero (every COBS code byte is 0x01)",
		&msg.FwChunk{Xfer: 1, Offset: 512, Data: testImage[512:]}, 0, 5, 6, false},
	{"fw-status", "FW_STATUS seq 7: all 1000 bytes held, SHA-256 and signature verified",
		&msg.FwStatus{Xfer: 1, Offset: 1000, State: msg.FwReady}, frame.FlagFromDevice, 7, 5, false},
	{"fw-activate", "FW_ACTIVATE seq 6: test-boot the image (confirm false)",
		&msg.FwActivate{SHA256: imageSHA[:], Confirm: false}, 0, 6, 7, false},
	{"fw-status-rejected", "FW_STATUS seq 8: another image was rejected, its signature does not verify",
		&msg.FwStatus{Xfer: 2, Offset: 1000, State: msg.FwRejected, Code: msg.CodeBadSignature, Error: "ed25519 verify failed"},
		frame.FlagFromDevice, 8, 7, false},
	{"hello-reverted", "HELLO after the test boot failed: the bootloader reverted 1.5.0, the device runs 1.4.2 again (boot 9); enrolled, so tagged in the handshake context of its new boot (device boot 9, gateway boot 0)",
		&msg.Hello{HardwareID: "KS-8C1F6440A2B1", Model: "OG-KIOSK-2", Kind: msg.KindKiosk, Firmware: "1.4.2", Boot: 9,
			Caps:     msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth,
			ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8, ConfigHash: configSHA[:],
			Image: msg.ImageReverted, Reverted: "1.5.0", RevertCode: msg.CodeTestBootFailed},
		frame.FlagFromDevice, 0, 0, true},
	// Gateway → device frames to an enrolled device are tagged too (§2.5).
	{"welcome-tagged", "WELCOME answering hello-tagged: the session resumes (key 9 true), the gateway delivered device seq 2; tagged in the handshake context (device boot 7, gateway boot 0)",
		&msg.Welcome{DeviceID: "kiosk-3f-01", Time: t0 + 60_050, ConfigHash: configSHA[:], Window: 8, Heartbeat: 2000, Proto: 1,
			Caps: msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth, GatewayBoot: 0x5eed0001,
			Resume: true, Ack: 2, MTU: 1024, RTO: 500},
		0, 0, 0, true},
	{"command-tagged", "COMMAND seq 2 in the session, tagged (device boot 7, gateway boot 0x5eed0001): print a visitor badge; text is UTF-8",
		&msg.Command{ID: "c2", Name: "print_badge", Args: map[string]any{"visitor": "张伟", "host": "Li Na"}, Deadline: t0 + 90_000},
		0, 2, 2, true},
	{"close-tagged", "CLOSE from the gateway ending the session: it is shutting down; tagged in the handshake context (device boot 7, gateway boot 0)",
		&msg.Close{Code: msg.CodeShutdown, Text: "gateway shutting down"}, 0, 0, 0, true},
	// §4.1: absent keys, data depth, control characters.
	{"event-clock-unset", "EVENT seq 11: a punch recorded before the clock was set: key 4 absent means 0, unset (§4.1)",
		&msg.Event{ID: msg.EventID{Boot: 7, Seq: 3}, Kind: "punch", Time: 41_000, Data: map[string]any{"user": "10234"}},
		frame.FlagFromDevice, 11, 0, false},
	{"event-data-limits", "EVENT seq 12: data at the limits of §4.1: an array counts as a level, and the one under \"c\" is level 4 (the data map is level 1); a data value may hold a control character (the line feed in \"note\"), a text field may not",
		&msg.Event{ID: msg.EventID{Boot: 7, Seq: 4}, Kind: "note", Time: t0 + 5000, Clock: msg.ClockSet,
			Data: map[string]any{"note": "line 1\nline 2", "a": map[string]any{"b": map[string]any{"c": []any{uint64(1)}}}}},
		frame.FlagFromDevice, 12, 0, false},
	// The largest frame: see maxConfig.
	{"max-frame", "CONFIG seq 16843009 (0x01010101, late in a long session) of the largest size: 1024 bytes decoded (1007-byte body), with no zero byte after the flags, so its COBS encoding is the longest possible: 1029 bytes, 1030 with the delimiter. A receiver MUST accept it (§2.4)",
		maxConfig, 0, maxSeq, maxAck, false},
	// A meeting-room panel's two events (§9.4): the bodies the gateway
	// publishes as room.button and room.occupancy.
	{"event-panel-button", "EVENT seq 9 from a meeting-room panel (kind 3, §9.4): key 1 pressed, event id [3, 12]",
		&msg.Event{ID: msg.EventID{Boot: 3, Seq: 12}, Kind: "button", Time: t0 + 4000, Clock: msg.ClockSet,
			Data: map[string]any{"button": uint64(1)}},
		frame.FlagFromDevice, 9, 0, false},
	{"event-panel-occupancy", "EVENT seq 10 from the same panel (§9.4): its own sensor saw nobody for its hold time, event id [3, 13]",
		&msg.Event{ID: msg.EventID{Boot: 3, Seq: 13}, Kind: "occupancy", Time: t0 + 304000, Clock: msg.ClockSet,
			Data: map[string]any{"state": "vacant"}},
		frame.FlagFromDevice, 10, 0, false},
}

// kioskEnrollPub is the kiosk's X25519 enrollment key in the hello vector:
// the public half of private key 40 41 … 5f.
var kioskEnrollPub = func() []byte {
	k, err := ecdh.X25519().NewPrivateKey(seqBytes(0x40, 0x5f))
	if err != nil {
		panic(err)
	}
	return k.PublicKey().Bytes()
}()

// maxSeq and maxAck have no zero byte, so a header with them has none
// after the flags.
const maxSeq, maxAck = 0x01010101, 0x01010101

// maxConfig is a CONFIG whose frame is exactly the 1024-byte cap and holds
// no zero byte after the header's flags: its COBS encoding is n + 1 + 4 =
// 1029 bytes, the most any frame takes on the wire (PROTOCOL.md §2.4). The
// note's last digits are searched so that the hash and the CRC have no
// zero byte either.
var maxConfig = func() *msg.Config {
	for i := 0; i < 10000; i++ {
		raw := mustCBOR(map[string]any{"note": strings.Repeat("x", 954) + fmt.Sprintf("%04d", i)})
		sum := sha256.Sum256(raw)
		m := &msg.Config{Hash: sum[:], Config: raw}
		body, err := msg.Marshal(m)
		if err != nil {
			panic(err)
		}
		f, err := frame.AppendRaw(nil, frame.Frame{Type: frame.TypeConfig, Seq: maxSeq, Ack: maxAck, Body: body}, nil)
		if err == nil && len(f) == frame.MaxLen && bytes.IndexByte(f[3:], 0) < 0 {
			return m
		}
	}
	panic("no zero-free maximal CONFIG")
}()

// badBodyVectors pass every check of §2.6, but their bodies break §4.1:
// a receiver handles them as §5.7 says (a sequenced one is acknowledged and
// reported, not acted on).
var badBodyVectors = []struct {
	name, means string
	typ         frame.Type
	flags       frame.Flags
	seq, ack    uint32
	body        []byte
}{
	{"bad-body-depth", "EVENT seq 13 whose data nests 5 levels: the data map (1), \"a\" (2), \"b\" (3), the array under \"c\" (4) and the array in it (5); arrays count (§4.1)",
		frame.TypeEvent, frame.FlagFromDevice, 13, 0,
		mustCBOR(map[int]any{1: []any{7, 5}, 2: "note", 3: uint64(t0 + 6000), 4: 1,
			5: map[string]any{"a": map[string]any{"b": map[string]any{"c": []any{[]any{1}}}}}})},
	{"bad-body-control", "RESULT seq 14 whose error text holds a line feed: a text field refuses control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F; §4.1)",
		frame.TypeResult, frame.FlagFromDevice, 14, 2,
		mustCBOR(map[int]any{1: "c2", 2: 1, 3: "paper out\nretry"})},
}

// cobsVectors are COBS encodings on their own, for a firmware's unit tests.
var cobsVectors = []struct {
	name, means string
	data        []byte
}{
	{"cobs-empty", "empty input", nil},
	{"cobs-zero", "one zero byte", []byte{0}},
	{"cobs-all-zeros", "eight zero bytes", make([]byte, 8)},
	{"cobs-254", "254 non-zero bytes: one full block, no empty block after it", seqBytes(1, 254)},
	{"cobs-255", "255 non-zero bytes: a full block, then a block of one", seqBytes(1, 255)},
	{"cobs-254-zero", "254 non-zero bytes then a zero", append(seqBytes(1, 254), 0)},
}

type badVector struct {
	name, means, expect string
	raw                 []byte // decoded bytes; wire is their COBS encoding unless wire is set
	wire                []byte
}

func rawOf(t testing.TB, f frame.Frame, a *frame.Auth) []byte {
	b, err := frame.AppendRaw(nil, f, a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func recrc(b []byte) []byte {
	n := len(b) - frame.CRCLen
	return binary.BigEndian.AppendUint32(b[:n], frame.Checksum(b[:n]))
}

func badVectors(t testing.TB) []badVector {
	// The heartbeat vector, as the descriptions say.
	hv := vectorNamed(t, "heartbeat")
	hbBody, _ := msg.Marshal(hv.m)
	hb := frame.Frame{Type: hv.m.Type(), Flags: hv.flags, Seq: hv.seq, Ack: hv.ack, Body: hbBody}
	badCRC := rawOf(t, hb, nil)
	badCRC[len(badCRC)-1] ^= 0x01
	badVer := rawOf(t, hb, nil)
	badVer[0] = 2
	badLen := rawOf(t, hb, nil)
	badLen[12] = byte(len(hbBody) + 1)
	ev := vectorNamed(t, "event-tagged")
	body, _ := msg.Marshal(ev.m)
	badMAC := rawOf(t, frame.Frame{Type: ev.m.Type(), Flags: ev.flags, Seq: ev.seq, Ack: ev.ack, Body: body}, &testAuth)
	badMAC[len(badMAC)-frame.CRCLen-1] ^= 0x80
	// AppendRaw refuses to build an oversize frame, so this one is built by hand.
	over := []byte{frame.Version, byte(frame.TypeFwChunk), 0, 0, 0, 0, 9, 0, 0, 0, 0, 0x04, 0x4c}
	over = append(over, bytes.Repeat([]byte{0x5a}, 1100)...)
	over = append(over, 0, 0, 0, 0)
	// One byte over the cap: the max-frame vector with one more body byte.
	mb, _ := msg.Marshal(maxConfig)
	maxRaw := rawOf(t, frame.Frame{Type: frame.TypeConfig, Seq: maxSeq, Ack: maxAck, Body: mb}, nil)
	var over1 []byte
	for b := byte('x'); ; b++ {
		over1 = append(append([]byte(nil), maxRaw[:len(maxRaw)-frame.CRCLen]...), b, 0, 0, 0, 0)
		binary.BigEndian.PutUint16(over1[11:], uint16(len(mb)+1))
		over1 = recrc(over1)
		if bytes.IndexByte(over1[3:], 0) < 0 {
			break
		}
	}
	if n := len(frame.AppendEncode(nil, over1)); len(over1) != frame.MaxLen+1 || n != frame.MaxWireLen {
		t.Fatalf("oversize-1025: %d bytes encode to %d", len(over1), n)
	}
	// One byte over the cap, but short on the wire: zeros cost no COBS
	// overhead, so only the decoded length shows it.
	zeros := []byte{frame.Version, byte(frame.TypeFwChunk), 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(zeros[11:], frame.MaxBody+1)
	zeros = recrc(append(zeros, make([]byte, frame.MaxBody+1+frame.CRCLen)...))
	if n := len(frame.AppendEncode(nil, zeros)); len(zeros) != frame.MaxLen+1 || n >= frame.MaxWireLen {
		t.Fatalf("oversize-1025-zeros: %d bytes encode to %d", len(zeros), n)
	}
	return []badVector{
		{name: "bad-crc", means: "the heartbeat vector with the lowest bit of its last CRC byte flipped", expect: "bad crc", raw: badCRC},
		{name: "bad-version", means: "the heartbeat vector with header version 2 (CRC recomputed, valid)", expect: "bad version", raw: recrc(badVer)},
		{name: "bad-length", means: fmt.Sprintf("the heartbeat vector with body length %d where its body is %d bytes (CRC recomputed, valid)", len(hbBody)+1, len(hbBody)), expect: "bad length", raw: recrc(badLen)},
		{name: "bad-mac", means: "the event-tagged vector with one tag bit flipped and the CRC recomputed: rejected only by a receiver holding the test key", expect: "bad mac", raw: recrc(badMAC)},
		{name: "short", means: "the first 16 bytes of the heartbeat vector, one short of header and CRC", expect: "short", raw: rawOf(t, hb, nil)[:16]},
		{name: "bad-cobs", means: "a code byte that runs past the delimiter", expect: "bad cobs", wire: []byte{0x05, 0x11, 0x22, 0x00}},
		{name: "oversize", means: "a 1117-byte frame (1100-byte body), over the 1024-byte cap: a receiver discards it when the 1030th encoded byte arrives without a delimiter", expect: "oversize", raw: recrc(over)},
		{name: "oversize-1025", means: "the max-frame vector with one more body byte (length 1008, CRC recomputed): 1025 bytes, no zero byte after the flags, so 1030 encoded bytes: a receiver drops it when the 1030th arrives without a delimiter (§2.6 step 1)", expect: "oversize", raw: over1},
		{name: "oversize-1025-zeros", means: "a 1025-byte FW_CHUNK frame whose 1008-byte body is all zeros (CRC valid): it encodes to only 1026 bytes, so it passes step 1 and is dropped at step 3, decoded length over 1024", expect: "oversize", raw: zeros},
	}
}

func hexLines(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); i += 32 {
		if i > 0 {
			sb.WriteString("\n         ")
		}
		end := min(i+32, len(b))
		for j := i; j < end; j++ {
			if j > i {
				sb.WriteByte(' ')
			}
			fmt.Fprintf(&sb, "%02x", b[j])
		}
	}
	if len(b) == 0 {
		sb.WriteString("(none)")
	}
	return sb.String()
}

func field(sb *strings.Builder, key, val string) {
	fmt.Fprintf(sb, "%-8s %s\n", key+":", val)
}

func flagText(f frame.Flags) string {
	var parts []string
	if f&frame.FlagAuth != 0 {
		parts = append(parts, "auth")
	}
	if f&frame.FlagFromDevice != 0 {
		parts = append(parts, "from device")
	}
	if len(parts) == 0 {
		return fmt.Sprintf("0x%02x", uint8(f))
	}
	return fmt.Sprintf("0x%02x (%s)", uint8(f), strings.Join(parts, ", "))
}

const fileHeader = `# Test vectors for the officegate firmware-bridge protocol, version 1.
# See PROTOCOL.md §12. Generated by "go test ./firmware-bridge/msg -run TestVectors -update";
# the Go tests decode and re-encode every entry, so this file and the code cannot drift.
#
# One entry per blank-line-separated block. Fields:
#   vector   name
#   kind     frame | cobs
#   means    what the frame is
#   type, flags, seq, ack   header fields (seq and ack in decimal)
#   auth     "none", or "test": tagged with the test key in the context given (a HELLO's context
#            names the boot id in its own body)
#   body     the CBOR body, hex;  cbor: the same in diagnostic notation (RFC 8949 §8)
#   frame    the decoded frame: header | body | [key epoch | tag] | CRC-32C, hex
#   crc      the CRC-32C of the frame, as written (big-endian)
#   wire     the exact bytes on the wire: COBS(frame) followed by the 0x00 delimiter
#   expect   ok; "bad body": the frame passes PROTOCOL.md §2.6 but its body breaks §4.1 (handled
#            as §5.7 says); or the reason a receiver drops it (§2.6)
#   data, encoded   (kind cobs) input and COBS output, without delimiter
# Continuation lines start with white space. Hex bytes are separated by spaces.
#
# Test link key (HMAC-SHA256, PROTOCOL.md §2.5):
#   key        00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f
#   key epoch  1
#   session    device boot 7 (0x00000007), gateway boot 0x5eed0001
#              (HELLO, WELCOME and CLOSE use gateway boot 0 in the MAC context)
#
`

func render(t testing.TB) []byte {
	var sb strings.Builder
	sb.WriteString(fileHeader)
	fmt.Fprintf(&sb, "# Test firmware signing key (Ed25519, PROTOCOL.md §10.1):\n#   seed       %s\n#   public key %s\n\n",
		hexLines(seqBytes(0x20, 0x3f)), hexLines(testSigner.Public().(ed25519.PublicKey)))
	for _, v := range goodVectors {
		body, err := msg.Marshal(v.m)
		if err != nil {
			t.Fatalf("vector %s: %v", v.name, err)
		}
		var a *frame.Auth
		authText := "none"
		flags := v.flags
		if v.auth {
			a = authFor(v.m)
			authText = authDescription(v.m)
			flags |= frame.FlagAuth
		}
		f := frame.Frame{Type: v.m.Type(), Flags: v.flags, Seq: v.seq, Ack: v.ack, Body: body}
		raw := rawOf(t, f, a)
		wire, err := frame.Append(nil, f, a)
		if err != nil {
			t.Fatal(err)
		}
		diag := "(empty body)"
		if len(body) > 0 {
			if diag, err = cbor.Diagnose(body); err != nil {
				t.Fatal(err)
			}
		}
		field(&sb, "vector", v.name)
		field(&sb, "kind", "frame")
		field(&sb, "means", v.means)
		field(&sb, "type", fmt.Sprintf("0x%02x %v", uint8(v.m.Type()), v.m.Type()))
		field(&sb, "flags", flagText(flags))
		field(&sb, "seq", fmt.Sprint(v.seq))
		field(&sb, "ack", fmt.Sprint(v.ack))
		field(&sb, "auth", authText)
		field(&sb, "body", hexLines(body))
		field(&sb, "cbor", diag)
		field(&sb, "frame", hexLines(raw))
		field(&sb, "crc", fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(raw[len(raw)-4:])))
		field(&sb, "wire", hexLines(wire))
		field(&sb, "expect", "ok")
		sb.WriteString("\n")
	}
	for _, v := range badBodyVectors {
		f := frame.Frame{Type: v.typ, Flags: v.flags, Seq: v.seq, Ack: v.ack, Body: v.body}
		raw := rawOf(t, f, nil)
		wire, err := frame.Append(nil, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		diag, err := cbor.Diagnose(v.body)
		if err != nil {
			t.Fatal(err)
		}
		field(&sb, "vector", v.name)
		field(&sb, "kind", "frame")
		field(&sb, "means", v.means)
		field(&sb, "type", fmt.Sprintf("0x%02x %v", uint8(v.typ), v.typ))
		field(&sb, "flags", flagText(v.flags))
		field(&sb, "seq", fmt.Sprint(v.seq))
		field(&sb, "ack", fmt.Sprint(v.ack))
		field(&sb, "auth", "none")
		field(&sb, "body", hexLines(v.body))
		field(&sb, "cbor", diag)
		field(&sb, "frame", hexLines(raw))
		field(&sb, "crc", fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(raw[len(raw)-4:])))
		field(&sb, "wire", hexLines(wire))
		field(&sb, "expect", "bad body")
		sb.WriteString("\n")
	}
	for _, v := range badVectors(t) {
		wire := v.wire
		if wire == nil {
			wire = append(frame.AppendEncode(nil, v.raw), 0)
		}
		field(&sb, "vector", v.name)
		field(&sb, "kind", "frame")
		field(&sb, "means", v.means)
		if v.raw != nil {
			field(&sb, "frame", hexLines(v.raw))
		}
		if v.expect == "bad mac" {
			field(&sb, "auth", "test (key epoch 1, context device boot 7, gateway boot 0x5eed0001)")
		}
		field(&sb, "wire", hexLines(wire))
		field(&sb, "expect", v.expect)
		sb.WriteString("\n")
	}
	for _, v := range cobsVectors {
		field(&sb, "vector", v.name)
		field(&sb, "kind", "cobs")
		field(&sb, "means", v.means)
		field(&sb, "data", hexLines(v.data))
		field(&sb, "encoded", hexLines(frame.AppendEncode(nil, v.data)))
		sb.WriteString("\n")
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n"))
}

// TestVectorsGolden regenerates the file from the table and compares.
func TestVectorsGolden(t *testing.T) {
	want := render(t)
	if *update {
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the code encodes; run go test -run TestVectorsGolden -update and review the diff", vectorsPath)
	}
}

// TestVectorsDecode reads the file, not the table: every body decodes to
// the message the table says, and re-encodes to the same bytes.
func TestVectorsDecode(t *testing.T) {
	vs, err := testvectors.Load(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]testvectors.Vector{}
	for _, v := range vs {
		byName[v.Name] = v
	}
	for _, gv := range goodVectors {
		t.Run(gv.name, func(t *testing.T) {
			v, ok := byName[gv.name]
			if !ok {
				t.Fatalf("vector %q missing from the file", gv.name)
			}
			w, err := v.Hex("wire")
			if err != nil {
				t.Fatal(err)
			}
			f, err := frame.Decode(w)
			if err != nil {
				t.Fatal(err)
			}
			if gv.auth {
				if err := f.Verify(authFor(gv.m)); err != nil {
					t.Fatal(err)
				}
			}
			m, err := msg.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m, gv.m) {
				t.Fatalf("decoded %#v\nwant    %#v", m, gv.m)
			}
			b, err := msg.Marshal(m)
			if err != nil || !bytes.Equal(b, f.Body) {
				t.Fatalf("re-encoded body %x, %v\nwant %x", b, err, f.Body)
			}
			if body, _ := v.Hex("body"); !bytes.Equal(body, f.Body) && !(len(body) == 0 && len(f.Body) == 0) {
				t.Fatalf("body field %x, wire body %x", body, f.Body)
			}
		})
	}
	// Bodies that break §4.1 are refused by the decoder, classified.
	for _, bv := range badBodyVectors {
		v, ok := byName[bv.name]
		if !ok {
			t.Fatalf("vector %q missing from the file", bv.name)
		}
		w, err := v.Hex("wire")
		if err != nil {
			t.Fatal(err)
		}
		f, err := frame.Decode(w)
		if err != nil {
			t.Fatalf("%s: frame: %v", bv.name, err)
		}
		if m, err := msg.Decode(f); !errors.Is(err, msg.ErrInvalid) && !errors.Is(err, msg.ErrMalformed) {
			t.Errorf("%s: decoded %#v, %v; want the body refused", bv.name, m, err)
		}
	}
	// The FW_OFFER's signature verifies with the published public key.
	if !ed25519.Verify(testSigner.Public().(ed25519.PublicKey), msg.FirmwareSigningInput(imageSHA[:]), imageSig) {
		t.Fatal("test signature does not verify")
	}
}

// authFor is the test key in the context of m's frame (§2.5): a HELLO
// names its own device boot; every other frame is in the test session.
func authFor(m msg.Message) *frame.Auth {
	a := testAuth
	if h, ok := m.(*msg.Hello); ok {
		a.DeviceBoot = h.Boot
	}
	return &a
}

func authDescription(m msg.Message) string {
	a := authFor(m)
	if m.Type().Handshake() {
		return fmt.Sprintf("test (key epoch 1, handshake context: device boot %d, gateway boot 0)", a.DeviceBoot)
	}
	return fmt.Sprintf("test (key epoch 1, context device boot %d, gateway boot 0x%08x)", a.DeviceBoot, a.GatewayBoot)
}

func vectorNamed(t testing.TB, name string) goodVector {
	t.Helper()
	for _, v := range goodVectors {
		if v.name == name {
			return v
		}
	}
	t.Fatalf("no vector %q", name)
	return goodVector{}
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestTimeVectorsPair reads the time vectors from the file and checks that
// they are the exchanges of §8 their descriptions say: each TIME_RESP
// answers the TIME_REQ with its id and T1, the first measures θ = −1500 ms,
// the second steps by −θ and measures 0, and only the answer to the step
// carries key 6.
func TestTimeVectorsPair(t *testing.T) {
	vs, err := testvectors.Load(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]testvectors.Vector{}
	for _, v := range vs {
		byName[v.Name] = v
	}
	decode := func(name string) msg.Message {
		t.Helper()
		w, err := byName[name].Hex("wire")
		if err != nil {
			t.Fatal(err)
		}
		f, err := frame.Decode(w)
		if err != nil {
			t.Fatal(err)
		}
		m, err := msg.Decode(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	t4 := regexp.MustCompile(`T4 = (\d+)`)
	measure := func(req, resp string) (theta, delta int64, r *msg.TimeResp, q *msg.TimeReq) {
		t.Helper()
		q, r = decode(req).(*msg.TimeReq), decode(resp).(*msg.TimeResp)
		if r.ID != q.ID || r.T1 != q.T1 {
			t.Fatalf("%s (id %d, T1 %d) does not answer %s (id %d, T1 %d)", resp, r.ID, r.T1, req, q.ID, q.T1)
		}
		m := t4.FindStringSubmatch(byName[resp].Get("means"))
		if m == nil {
			t.Fatalf("%s: the description gives no T4", resp)
		}
		T4, _ := strconv.ParseInt(m[1], 10, 64)
		T1, T2, T3 := int64(r.T1), int64(r.T2), int64(r.T3)
		return ((T2 - T1) + (T3 - T4)) / 2, (T4 - T1) - (T3 - T2), r, q
	}
	theta, delta, r1, q1 := measure("time-req", "time-resp")
	if theta != -1500 || delta != 8 || q1.Adjust != 0 || r1.Next != 0 {
		t.Errorf("first exchange: θ %d δ %d adjust %d key 6 %d; want −1500, 8, none, none", theta, delta, q1.Adjust, r1.Next)
	}
	theta2, delta2, r2, q2 := measure("time-req-step", "time-resp-step")
	if q2.Adjust != -theta || theta2 != 0 || delta2 != 8 || r2.Next == 0 {
		t.Errorf("step: adjust %d (want %d), then θ %d δ %d key 6 %d; want 0, 8, present", q2.Adjust, -theta, theta2, delta2, r2.Next)
	}
}
