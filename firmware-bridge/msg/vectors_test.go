package msg_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"reflect"
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
// boot 0x5eed0001, resends an old punch, and so on.
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
	{"hello", "HELLO from a kiosk after its 7th boot, no session to resume (gateway boot 0, ack 0), untagged: not yet enrolled",
		&msg.Hello{HardwareID: "KS-8C1F6440A2B1", Model: "OG-KIOSK-2", Kind: msg.KindKiosk, Firmware: "1.4.2", Boot: 7,
			Caps:     msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth,
			ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8, Time: 1000, Clock: msg.ClockUnset},
		frame.FlagFromDevice, 0, 0, false},
	{"welcome", "WELCOME: new session in gateway boot 0x5eed0001; events up to [6, 41] are already committed, the device drops them",
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
	{"time-req", "TIME_REQ 1: gateway clock t1, and step the device clock by +1500 ms (from the previous exchange)",
		&msg.TimeReq{ID: 1, T1: t0 + 123, Adjust: 1500}, 0, 0, 0, false},
	{"time-resp", "TIME_RESP 1: t1 echoed, device clock at receipt (t2) and at send (t3)",
		&msg.TimeResp{ID: 1, T1: t0 + 123, T2: t0 + 131, T3: t0 + 133, Clock: msg.ClockSet}, frame.FlagFromDevice, 0, 0, false},
	{"time-resp-step", "TIME_RESP 2 answering a TIME_REQ that stepped the clock: events from seq 57 on carry the stepped clock",
		&msg.TimeResp{ID: 2, T1: t0 + 2123, T2: t0 + 2131, T3: t0 + 2133, Clock: msg.ClockSet, Next: 57}, frame.FlagFromDevice, 0, 0, false},
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
	{"hello-reverted", "HELLO after the test boot failed: the bootloader reverted 1.5.0, the device runs 1.4.2 again (boot 9)",
		&msg.Hello{HardwareID: "KS-8C1F6440A2B1", Model: "OG-KIOSK-2", Kind: msg.KindKiosk, Firmware: "1.4.2", Boot: 9,
			Caps:     msg.CapEvents | msg.CapCommands | msg.CapTime | msg.CapConfig | msg.CapFirmware | msg.CapAuth,
			ProtoMin: 1, ProtoMax: 1, MTU: 1024, Window: 8, ConfigHash: configSHA[:],
			Image: msg.ImageReverted, Reverted: "1.5.0", RevertCode: msg.CodeTestBootFailed},
		frame.FlagFromDevice, 0, 0, false},
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
	hb := frame.Frame{Type: frame.TypeHeartbeat, Flags: frame.FlagFromDevice, Ack: 3, Body: []byte{0xa0}}
	badCRC := rawOf(t, hb, nil)
	badCRC[len(badCRC)-1] ^= 0x01
	badVer := rawOf(t, hb, nil)
	badVer[0] = 2
	badLen := rawOf(t, hb, nil)
	badLen[12] = 0x05
	ev := vectorNamed(t, "event-tagged")
	body, _ := msg.Marshal(ev.m)
	badMAC := rawOf(t, frame.Frame{Type: ev.m.Type(), Flags: ev.flags, Seq: ev.seq, Ack: ev.ack, Body: body}, &testAuth)
	badMAC[len(badMAC)-frame.CRCLen-1] ^= 0x80
	// AppendRaw refuses to build an oversize frame, so this one is built by hand.
	over := []byte{frame.Version, byte(frame.TypeFwChunk), 0, 0, 0, 0, 9, 0, 0, 0, 0, 0x04, 0x4c}
	over = append(over, bytes.Repeat([]byte{0x5a}, 1100)...)
	over = append(over, 0, 0, 0, 0)
	return []badVector{
		{name: "bad-crc", means: "the heartbeat vector with the last CRC byte flipped", expect: "bad crc", raw: badCRC},
		{name: "bad-version", means: "header version 2 (CRC valid)", expect: "bad version", raw: recrc(badVer)},
		{name: "bad-length", means: "body length 5 in a frame with a 1-byte body (CRC valid)", expect: "bad length", raw: recrc(badLen)},
		{name: "bad-mac", means: "the event-tagged vector with one tag bit flipped and the CRC recomputed: rejected only by a receiver holding the test key", expect: "bad mac", raw: recrc(badMAC)},
		{name: "short", means: "16 bytes, one short of header and CRC", expect: "short", raw: rawOf(t, hb, nil)[:16]},
		{name: "bad-cobs", means: "a code byte that runs past the delimiter", expect: "bad cobs", wire: []byte{0x05, 0x11, 0x22, 0x00}},
		{name: "oversize", means: "a 1117-byte frame (1100-byte body), over the 1024-byte cap: a receiver discards it once 1029 encoded bytes have passed without a delimiter", expect: "oversize", raw: recrc(over)},
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
#   auth     "none", or "test": tagged with the test key in the context given
#   body     the CBOR body, hex;  cbor: the same in diagnostic notation (RFC 8949 §8)
#   frame    the decoded frame: header | body | [key epoch | tag] | CRC-32C, hex
#   crc      the CRC-32C of the frame, as written (big-endian)
#   wire     the exact bytes on the wire: COBS(frame) followed by the 0x00 delimiter
#   expect   ok, or the reason a receiver drops it (PROTOCOL.md §2.6)
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
			a = &testAuth
			authText = "test (key epoch 1, context device boot 7, gateway boot 0x5eed0001)"
			if v.m.Type().Handshake() {
				authText = "test (key epoch 1, handshake context: device boot 7, gateway boot 0)"
			}
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
				if err := f.Verify(&testAuth); err != nil {
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
	// The FW_OFFER's signature verifies with the published public key.
	if !ed25519.Verify(testSigner.Public().(ed25519.PublicKey), msg.FirmwareSigningInput(imageSHA[:]), imageSig) {
		t.Fatal("test signature does not verify")
	}
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
