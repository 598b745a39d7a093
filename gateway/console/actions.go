package console

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/officegate/officegate/provisioning/admin"
)

// Every action calls the admin service (one implementation of every
// operation: the CLI's socket and the MQTT gateway commands call the same)
// and returns what the audit trail records.

func back(id string) string { return "/devices/" + url.PathEscape(id) }

// deviceCommand runs door.pulse or time.set on a device.
func (s *Server) deviceCommand(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	id, name := r.PathValue("id"), r.PostFormValue("name")
	a := audit{action: "device.command", target: id + " " + name}
	var args map[string]any
	switch name {
	case "door.pulse":
		ms := 3000
		if v := r.PostFormValue("duration_ms"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 10000 {
				a.outcome, a.detail = "failed", "bad duration"
				s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, trf(rc.lang, "door open time %q: want 100 to 10000 ms", v)), "")
				return a
			}
			ms = n
		}
		args = map[string]any{"duration_ms": ms}
	case "time.set":
	default:
		a.outcome, a.detail = "failed", "unknown command"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, trf(rc.lang, "no such command %q here", name)), "")
		return a
	}
	res, err := s.o.Admin.DeviceCommand(r.Context(), id, name, args)
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	a.command, a.detail = res.ID, res.Status
	msg := trf(rc.lang, "%s on %s: %s", name, id, tr(rc.lang, res.Status))
	if res.Error != "" {
		a.outcome = "failed"
		a.detail += ": " + res.Error
		msg += " — " + res.Error
	}
	s.done(w, r, rc, back(id), msg)
	return a
}

func (s *Server) configPush(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	id := r.PathValue("id")
	a := audit{target: id}
	dev, err := s.o.Admin.Show(id)
	if err == nil && dev.Profile == "" {
		err = fmt.Errorf("%w: %s", errInput, trf(rc.lang, "device %s has no configuration profile", id))
	}
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	a.target = id + " profile " + dev.Profile
	// The gateway command config.push, as from MQTT: its result is
	// published on the gateway's results topic too.
	cr, err := s.o.Admin.GatewayCommand(r.Context(), "config.push", map[string]any{"profile": dev.Profile})
	a.command = cr.ID
	var res admin.PushResult
	if err == nil && cr.Status != "ok" {
		err = fmt.Errorf("%s: %s", tr(rc.lang, cr.Status), cr.Error)
	}
	if err == nil {
		err = fromData(cr.Data, &res)
	}
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	var parts []string
	for _, o := range res.Devices {
		parts = append(parts, o.Device+": "+tr(rc.lang, o.Outcome))
	}
	a.detail = strings.Join(parts, ", ")
	s.done(w, r, rc, back(id), trf(rc.lang, "Configuration %s pushed: %s", dev.Profile, a.detail))
	return a
}

func (s *Server) rename(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	id, name := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("name"))
	a := audit{target: id, detail: "name " + name}
	if _, err := s.o.Admin.Rename(id, name); err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	s.done(w, r, rc, back(id), trf(rc.lang, "%s renamed %q.", id, name))
	return a
}

func (s *Server) retire(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	id := r.PathValue("id")
	a := audit{target: id}
	if r.PostFormValue("confirm") != id {
		a.outcome, a.detail = "failed", "not confirmed"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, trf(rc.lang, "to retire %s, type its id to confirm", id)), "")
		return a
	}
	if _, err := s.o.Admin.Retire(id); err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	s.done(w, r, rc, back(id), trf(rc.lang, "%s retired: its key is destroyed.", id))
	return a
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	id, hw := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("hardware_id"))
	a := audit{target: id, detail: "by " + hw}
	if _, err := s.o.Admin.Replace(id, hw); err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	s.done(w, r, rc, back(id), trf(rc.lang, "%s is now the unit %s.", id, hw))
	return a
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	hw, id := r.PostFormValue("hardware_id"), strings.TrimSpace(r.PostFormValue("id"))
	a := audit{target: hw, detail: "as " + id}
	_, err := s.o.Admin.Approve(hw, id, strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("room")), strings.TrimSpace(r.PostFormValue("profile")))
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "enrollment")
		return a
	}
	s.done(w, r, rc, "/enrollment", trf(rc.lang, "%s approved as %s.", hw, id))
	return a
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	hw := r.PostFormValue("hardware_id")
	a := audit{target: hw}
	if err := s.o.Admin.Reject(hw); err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "enrollment")
		return a
	}
	s.done(w, r, rc, "/enrollment", trf(rc.lang, "%s rejected.", hw))
	return a
}

func (s *Server) openWindow(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	f := r.PostFormValue("for")
	a := audit{detail: "for " + f}
	d, err := time.ParseDuration(f)
	if err != nil {
		a.outcome = "failed"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, trf(rc.lang, "window length %q: want e.g. 10m or 1h", f)), "enrollment")
		return a
	}
	rule := admin.Rule{Kind: r.PostFormValue("kind"), Model: strings.TrimSpace(r.PostFormValue("model")),
		HardwareID: strings.TrimSpace(r.PostFormValue("hardware_id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Room: strings.TrimSpace(r.PostFormValue("room")), Profile: strings.TrimSpace(r.PostFormValue("profile"))}
	win, err := s.o.Admin.Enroll(d, []admin.Rule{rule})
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "enrollment")
		return a
	}
	a.detail = "until " + win.Until.UTC().Format(time.RFC3339)
	s.done(w, r, rc, "/enrollment", trf(rc.lang, "Enrollment window open until %s.", win.Until.In(s.o.Location).Format("15:04:05")))
	return a
}

func (s *Server) closeWindow(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	if err := s.o.Admin.EnrollClose(); err != nil {
		s.fail(w, r, rc, err, "enrollment")
		return audit{outcome: "failed", detail: err.Error()}
	}
	s.done(w, r, rc, "/enrollment", tr(rc.lang, "Enrollment window closed."))
	return audit{}
}

// maxManifest bounds an uploaded manifest: a floor is a few hundred lines.
const maxManifest = 1 << 20

func formFile(r *http.Request, field string, limit int64) ([]byte, string, error) {
	f, h, err := r.FormFile(field)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return readLimited(f, h, limit)
}

func readLimited(f multipart.File, h *multipart.FileHeader, limit int64) ([]byte, string, error) {
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, h.Filename, err
	}
	if int64(len(b)) > limit {
		return nil, h.Filename, fmt.Errorf("%w: %s is larger than %d bytes", errInput, h.Filename, limit)
	}
	return b, h.Filename, nil
}

func (s *Server) importManifest(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	csv, name, err := formFile(r, "manifest", maxManifest)
	if err != nil {
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, tr(rc.lang, "choose a manifest file (CSV) to import")), "enrollment")
		return audit{outcome: "failed", detail: "no file"}
	}
	a := audit{target: name}
	res, err := s.o.Admin.Import(csv)
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, &problemsError{err, res.Problems}, "enrollment")
		return a
	}
	a.detail = fmt.Sprintf("approved %d, waiting %d, done %d", len(res.Approved), len(res.Waiting), len(res.Done))
	s.done(w, r, rc, "/enrollment", trf(rc.lang, "Manifest imported: %d approved, %d waiting for their unit, %d already done.",
		len(res.Approved), len(res.Waiting), len(res.Done)))
	return a
}

// maxSignature bounds an uploaded signature: 64 bytes, or 128 hex digits.
const maxSignature = 1024

func (s *Server) startRollout(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	version := strings.TrimSpace(r.PostFormValue("version"))
	a := audit{detail: "version " + version}
	img, name, err := formFile(r, "image", maxBody)
	if err != nil {
		a.outcome = "failed"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, tr(rc.lang, "choose the firmware image and its signature")), "firmware")
		return a
	}
	sig, _, err := formFile(r, "signature", maxSignature)
	if err != nil {
		a.outcome = "failed"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, tr(rc.lang, "choose the firmware image and its signature")), "firmware")
		return a
	}
	var devs []string
	for _, d := range r.PostForm["device"] {
		if d = strings.TrimSpace(d); d != "" {
			devs = append(devs, d)
		}
	}
	canary, _ := strconv.Atoi(r.PostFormValue("canary"))
	name = safeImageName(name, version)
	a.target = name
	if err := s.o.Admin.FirmwareUpload(name, img, sig); err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "firmware")
		return a
	}
	rec, err := s.o.Admin.FirmwareRollout(admin.RolloutRequest{Image: name, Version: version, Devices: devs, Canary: canary})
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "firmware")
		return a
	}
	a.target = rec.ID
	a.detail = fmt.Sprintf("version %s to %s", version, strings.Join(devs, ","))
	s.done(w, r, rc, "/firmware", trf(rc.lang, "Rollout %s started.", rec.ID))
	return a
}

// safeImageName is the name an upload is stored under: its file name
// reduced to the characters the firmware directory takes, prefixed with
// the version so that two uploads of "firmware.bin" do not overwrite a
// rollout's image.
func safeImageName(file, version string) string {
	var b strings.Builder
	for _, c := range version + "-" + file {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return strings.TrimLeft(cut(b.String(), 120), ".")
}

func (s *Server) approveWalkIn(w http.ResponseWriter, r *http.Request, rc *reqCtx) audit {
	kiosk, scan := r.PostFormValue("kiosk"), r.PostFormValue("scan_id")
	name, host := strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("host"))
	a := audit{target: kiosk + " scan " + scan}
	if name == "" || host == "" {
		a.outcome, a.detail = "failed", "no name or host"
		s.fail(w, r, rc, fmt.Errorf("%w: %s", errInput, tr(rc.lang, "a walk-in needs the visitor's name and host")), "")
		return a
	}
	args := map[string]any{"scan_id": scan, "name": name, "host": host}
	if c := strings.TrimSpace(r.PostFormValue("company")); c != "" {
		args["company"] = c
	}
	res, err := s.o.Admin.DeviceCommand(r.Context(), kiosk, "visitor.approve", args)
	a.command = res.ID
	if err == nil && res.Status != "ok" {
		err = fmt.Errorf("%s: %s", res.Status, res.Error)
	}
	if err != nil {
		a.outcome, a.detail = "failed", err.Error()
		s.fail(w, r, rc, err, "")
		return a
	}
	s.done(w, r, rc, "/reception", trf(rc.lang, "%s approved: the door opens.", name))
	return a
}

// fromData reads a command result's data into v (the admin service's
// type for it, as the result's JSON carries it).
func fromData(data map[string]any, v any) error {
	b, err := json.Marshal(data)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("console: the result's data: %w", err)
	}
	return nil
}
