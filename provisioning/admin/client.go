package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/officegate/officegate/provisioning/rollout"
)

// DefaultSocket is where the daemon serves the socket API (systemd's
// RuntimeDirectory).
const DefaultSocket = "/run/officegate/admin.sock"

// MaxReply is the longest answer Client reads. A device list of a whole
// floor is well under a megabyte; the bound keeps a confused peer from
// filling the CLI's memory. A longer answer is an error, never cut short
// and presented as complete.
const MaxReply = 16 << 20

// Client talks to a running daemon's socket API.
type Client struct {
	// Immutable.
	path string
	hc   *http.Client
}

// NewClient returns a client of the socket at path. Nothing is dialled yet.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableKeepAlives: true, // one request per CLI run
	}
	// A config push waits for devices; nothing else takes long.
	return &Client{path: path, hc: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// Error is an error the daemon answered. errors.Is matches the sentinel its
// Code names (provisioning.ErrNotFound for "not_found", …).
type Error struct {
	Status   int // HTTP status
	Code     string
	Message  string
	Problems []Problem // a rejected manifest's problems
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel error of e's code.
func (e *Error) Is(target error) bool {
	for _, c := range codes {
		if c.code == e.Code {
			return target == c.err
		}
	}
	return false
}

// List returns every device.
func (c *Client) List(ctx context.Context) (DeviceList, error) {
	var out DeviceList
	return out, c.do(ctx, http.MethodGet, "/v1/devices", nil, &out)
}

// Show returns one device by device id or hardware id.
func (c *Client) Show(ctx context.Context, ref string) (Device, error) {
	var out Device
	return out, c.do(ctx, http.MethodGet, "/v1/devices/"+url.PathEscape(ref), nil, &out)
}

// Approve approves the pending device hw.
func (c *Client) Approve(ctx context.Context, hw string, req ApproveRequest) (Device, error) {
	var out Device
	return out, c.do(ctx, http.MethodPost, "/v1/devices/"+url.PathEscape(hw)+"/approve", req, &out)
}

// Rename renames device id.
func (c *Client) Rename(ctx context.Context, id, name string) (Device, error) {
	var out Device
	return out, c.do(ctx, http.MethodPost, "/v1/devices/"+url.PathEscape(id)+"/rename", RenameRequest{Name: name}, &out)
}

// Action disables, enables or retires device id: action is "disable",
// "enable" or "retire".
func (c *Client) Action(ctx context.Context, id, action string) (Device, error) {
	var out Device
	return out, c.do(ctx, http.MethodPost, "/v1/devices/"+url.PathEscape(id)+"/"+url.PathEscape(action), nil, &out)
}

// Replace hands device id old to the unit hw.
func (c *Client) Replace(ctx context.Context, old, hw string) (Device, error) {
	var out Device
	return out, c.do(ctx, http.MethodPost, "/v1/devices/"+url.PathEscape(old)+"/replace", ReplaceRequest{HardwareID: hw}, &out)
}

// Import sends a manifest. A rejected one is an *Error (wrapping
// provisioning.ErrManifest) carrying every problem.
func (c *Client) Import(ctx context.Context, csv []byte) (ImportResult, error) {
	var out ImportResult
	return out, c.do(ctx, http.MethodPost, "/v1/import", rawBody{typ: "text/csv", b: csv}, &out)
}

// Enroll opens the enrollment window for d with rules.
func (c *Client) Enroll(ctx context.Context, d time.Duration, rules []Rule) (Window, error) {
	var out Window
	return out, c.do(ctx, http.MethodPost, "/v1/enroll", EnrollRequest{For: d.String(), Rules: rules}, &out)
}

// Enrollment returns the enrollment window (zero Until if closed).
func (c *Client) Enrollment(ctx context.Context) (Window, error) {
	var out Window
	return out, c.do(ctx, http.MethodGet, "/v1/enroll", nil, &out)
}

// EnrollClose closes the enrollment window.
func (c *Client) EnrollClose(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/enroll", nil, nil)
}

// ConfigPush pushes profile's configuration to its devices.
func (c *Client) ConfigPush(ctx context.Context, profile string) (PushResult, error) {
	var out PushResult
	return out, c.do(ctx, http.MethodPost, "/v1/config/"+url.PathEscape(profile)+"/push", nil, &out)
}

// FirmwareRollout starts a firmware rollout.
func (c *Client) FirmwareRollout(ctx context.Context, req RolloutRequest) (rollout.Record, error) {
	var out rollout.Record
	return out, c.do(ctx, http.MethodPost, "/v1/firmware/rollouts", req, &out)
}

// FirmwareRollouts lists the rollouts.
func (c *Client) FirmwareRollouts(ctx context.Context) ([]rollout.Record, error) {
	var out []rollout.Record
	return out, c.do(ctx, http.MethodGet, "/v1/firmware/rollouts", nil, &out)
}

// FirmwareStatus returns one rollout.
func (c *Client) FirmwareStatus(ctx context.Context, id string) (rollout.Record, error) {
	var out rollout.Record
	return out, c.do(ctx, http.MethodGet, "/v1/firmware/rollouts/"+url.PathEscape(id), nil, &out)
}

type rawBody struct {
	typ string
	b   []byte
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	typ := ""
	switch v := in.(type) {
	case nil:
	case rawBody:
		body, typ = bytes.NewReader(v.b), v.typ
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body, typ = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://officegate"+path, body)
	if err != nil {
		return err
	}
	if typ != "" {
		req.Header.Set("Content-Type", typ)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.dialError(err)
	}
	defer resp.Body.Close()
	// One byte past the bound tells a reply of exactly MaxReply from a longer one.
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxReply+1))
	if err != nil {
		return fmt.Errorf("admin: reading the daemon's answer to %s %s: %w", method, path, err)
	}
	if len(b) > MaxReply {
		return fmt.Errorf("admin: the daemon's answer to %s %s exceeded %d bytes (%s): refused rather than cut short", method, path, MaxReply, resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		var eb importError
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			return &Error{Status: resp.StatusCode, Code: "internal", Message: fmt.Sprintf("admin: daemon answered %s: %.200s", resp.Status, b)}
		}
		return &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Error, Problems: eb.Problems}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("admin: the daemon's answer: %w", err)
	}
	return nil
}

// dialError says plainly when the daemon is not there.
func (c *Client) dialError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w (no socket at %s)", ErrNotRunning, c.path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (nothing listens on %s)", ErrNotRunning, c.path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("admin: permission denied on %s: run as root or a member of the socket's group", c.path)
	}
	return fmt.Errorf("admin: %s: %w", c.path, err)
}
