package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/creack/pty"
	toml "github.com/pelletier/go-toml/v2"
	"github.com/rs/zerolog"

	"github.com/officegate/officegate/devices"
	"github.com/officegate/officegate/devices/escpos"
	"github.com/officegate/officegate/devices/escpos/escpossim"
	"github.com/officegate/officegate/devices/gpio"
	"github.com/officegate/officegate/devices/gpio/gpiosim"
	"github.com/officegate/officegate/devices/kiosk"
	"github.com/officegate/officegate/gateway/daemon"
	"github.com/officegate/officegate/internal/atomicfile"
)

// Lobby is the reception kiosk's device id; LobbyPanel its own panel's, an
// emulated kiosk panel on the link that shows the kiosk's welcome lines.
const (
	Lobby      = "kiosk-lobby"
	LobbyPanel = "kiosk-lobby-panel"
)

// tomlSection is a device's configuration section as TOML text, decoded as
// strictly as the gateway's configuration file is.
type tomlSection string

func (s tomlSection) Decode(v any) error {
	err := toml.NewDecoder(strings.NewReader(string(s))).DisallowUnknownFields().Decode(v)
	if sm, ok := errors.AsType[*toml.StrictMissingError](err); ok {
		return errors.New(sm.String())
	}
	return err
}

// lobby is the reception kiosk with its hardware: the QR scanner is a PTY
// the demo types codes into, the badge printer an emulated ESC/POS printer
// on another PTY, the door strike and contact pins of a simulated board.
type lobby struct {
	k        *kiosk.Kiosk
	scanner  *os.File // the scanner's end of its PTY
	scanTTY  *os.File // the kiosk's end, held open between its opens
	printer  *escpossim.Printer
	contact  *gpiosim.Pin // driven by the demo: Low while the door is shut
	badgeDir string
}

// startLobby builds the kiosk; its invite key and state file go in dir.
// The gateway runs it (daemon.Options.Drivers).
func startLobby(dir, badgeDir string, send *daemon.Sender, log zerolog.Logger) (*lobby, error) {
	// A fresh key per run: nothing outside the demo shares its invites.
	key := filepath.Join(dir, "invite.key")
	if err := os.WriteFile(key, []byte(rand.Text()+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo: invite key: %w", err)
	}
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("demo: a pty for the scanner: %w", err)
	}
	l := &lobby{scanner: m, scanTTY: s, badgeDir: badgeDir}
	if l.printer, err = escpossim.New(); err != nil {
		l.close()
		return nil, err
	}
	board := gpiosim.NewBoard(nil)
	l.contact, _ = board.Pin("GPIO4")
	l.contact.Drive(gpio.Low) // shut
	section := fmt.Sprintf(`scanner_port = %q
printer_port = %q
invite_key_file = %q
state_file = %q
printer_poll = "2s"
approve_timeout = "30s"
location = "HQ 3F RECEPTION"
display = %q
[door]
relay_pin = "GPIO17"
relay_active = "high"
contact_pin = "GPIO4"
contact_closed = "low"
`, s.Name(), l.printer.Path(), key, filepath.Join(dir, Lobby+".json"), LobbyPanel)
	l.k, err = kiosk.NewWith(Lobby, devices.Options{Config: tomlSection(section), Log: log, Send: send.Send}, kiosk.With{Pins: board.Open})
	if err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// scan types code on the scanner, as a QR scanner sends it: a line with a CR.
func (l *lobby) scan(code string) error {
	if _, err := l.scanner.WriteString(code + "\r"); err != nil {
		return fmt.Errorf("demo: scanner: %w", err)
	}
	return nil
}

// walkThrough opens the door contact and shuts it again, as a visitor
// walking through the released door does.
func (l *lobby) walkThrough(ctx context.Context) {
	if pause(ctx, 400*time.Millisecond) != nil {
		return
	}
	l.contact.Drive(gpio.High)
	pause(context.WithoutCancel(ctx), 1200*time.Millisecond) // a door left open is not the demo's point
	l.contact.Drive(gpio.Low)
}

// close stops the printer and closes the scanner's PTY; the kiosk has
// stopped.
func (l *lobby) close() {
	if l.printer != nil {
		l.printer.Close()
	}
	l.scanTTY.Close()
	l.scanner.Close()
}

// Visitors of the scripted morning; their tokens are what the QR codes on
// their invitations carry.
var visitors = []struct{ invite, token, name, company string }{
	{"inv-wang-fang", "OG1-7F3K-Q9ZP-WANG", "王芳", "深圳智造科技"},
	{"inv-daniel-weber", "OG1-2M8D-L4TX-WEBR", "Daniel Weber", "Acme GmbH"},
}

// receptionMorning is the script at the lobby: the admin service invites two
// visitors, the first scans in (badge, door) and walks through, a stranger's
// code is rejected and the admin approves them, the second visitor scans in,
// and the first leaves. It writes the first badge's preview PNG.
func receptionMorning(ctx context.Context, admin *service, l *lobby, say func(string, ...any)) error {
	now := time.Now()
	for _, v := range visitors {
		if _, err := admin.command(ctx, Lobby, "invite.upsert", map[string]any{
			"invite_id": v.invite, "token": v.token, "name": v.name, "host": "Li Na", "company": v.company,
			"valid_from": now.Add(-time.Hour).Format(time.RFC3339), "valid_until": now.Add(8 * time.Hour).Format(time.RFC3339),
		}); err != nil {
			return err
		}
	}
	say("admin service invited %s and %s to the lobby kiosk", visitors[0].name, visitors[1].name)

	checkIn := func(v int) error {
		// Past the last visitor's door release (pulse), so this one's
		// visibly releases it again.
		if err := pause(ctx, 2*time.Second); err != nil {
			return err
		}
		say("%s scans the QR code of the invitation", visitors[v].name)
		m := admin.mark()
		if err := l.scan(visitors[v].token); err != nil {
			return err
		}
		if _, err := admin.event(ctx, m, Lobby, kiosk.TypeCheckedIn, inviteIs(visitors[v].invite)); err != nil {
			return err
		}
		l.walkThrough(ctx)
		_, err := admin.event(ctx, m, Lobby, kiosk.TypePrintResult, inviteIs(visitors[v].invite))
		return err
	}
	if err := checkIn(0); err != nil {
		return err
	}
	if path, err := l.preview(ctx); err != nil {
		say("no badge preview: %v", err)
	} else {
		say("badge preview: %s (the PNG draws Chinese names as boxes: it renders only the printer's Latin font; the web console's Reception page draws the badge in your browser, Chinese names included)", path)
	}

	if err := pause(ctx, time.Second); err != nil {
		return err
	}
	say("a walk-in scans a code the kiosk does not know")
	m := admin.mark()
	if err := l.scan("WALKIN-0042"); err != nil {
		return err
	}
	rej, err := admin.event(ctx, m, Lobby, kiosk.TypeScanRejected, nil)
	if err != nil {
		return err
	}
	if err := pause(ctx, time.Second); err != nil {
		return err
	}
	say("the receptionist approves the walk-in in the admin service")
	m = admin.mark()
	if _, err := admin.command(ctx, Lobby, "visitor.approve", map[string]any{
		"scan_id": rej["scan_id"], "name": "Tom Chen", "host": "Li Na", "company": "City Couriers",
	}); err != nil {
		return err
	}
	if _, err := admin.event(ctx, m, Lobby, kiosk.TypeCheckedIn, nil); err != nil {
		return err
	}
	l.walkThrough(ctx)

	if err := checkIn(1); err != nil {
		return err
	}
	if err := pause(ctx, 2*time.Second); err != nil {
		return err
	}
	say("%s leaves and scans the invitation again", visitors[0].name)
	m = admin.mark()
	if err := l.scan(visitors[0].token); err != nil {
		return err
	}
	_, err = admin.event(ctx, m, Lobby, kiosk.TypeCheckedOut, inviteIs(visitors[0].invite))
	return err
}

// BadgePreview is the name of the first badge's preview, in
// Options.BadgeDir.
const BadgePreview = "officegate-demo-badge.png"

// preview renders the first badge the printer took to a PNG in badgeDir,
// written whole (a temporary file renamed), and returns its path.
func (l *lobby) preview(ctx context.Context) (string, error) {
	err := l.printer.Wait(ctx, func(jobs [][]byte, _ bool) bool { return len(jobs) > 0 })
	if err != nil {
		return "", err
	}
	img, err := escpos.Render(l.printer.Jobs()[0])
	if err != nil {
		return "", err
	}
	var png bytes.Buffer
	if err := escpos.WritePNG(&png, img); err != nil {
		return "", fmt.Errorf("demo: badge preview: %w", err)
	}
	// A preview is shown, never relied on after a crash: no fsync.
	path := filepath.Join(l.badgeDir, BadgePreview)
	if err := atomicfile.Write(path, png.Bytes(), 0o600, atomicfile.Unsynced); err != nil {
		return "", fmt.Errorf("demo: badge preview: %w", err)
	}
	return path, nil
}

func inviteIs(id string) func(map[string]any) bool {
	return func(d map[string]any) bool { return d["invite_id"] == id }
}

// pause waits d, or returns ctx's error. The script is paced for people
// watching; what it depends on, it waits for.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
