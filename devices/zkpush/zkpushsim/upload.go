package zkpushsim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/officegate/officegate/devices/zkpush"
)

// AppendAttlog appends p as an ATTLOG line of seven columns (§11.2) and its LF.
func AppendAttlog(dst []byte, p zkpush.Punch) []byte {
	wc := p.Workcode
	if wc == "" {
		wc = "0"
	}
	return fmt.Appendf(dst, "%s\t%s\t%d\t%d\t%s\t0\t0\n", p.PIN, p.Time, p.Status, p.Verify, wc)
}

// okCount reads "OK: n" (§11.2); anything else is the server's error text.
func okCount(reply string) (int, error) {
	s, ok := strings.CutPrefix(strings.TrimSpace(reply), "OK:")
	if !ok {
		return 0, fmt.Errorf("reply %q is not OK: n", reply)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("reply %q is not OK: n", reply)
	}
	return n, nil
}

// Upload sends every waiting record, a batch per request, and returns how
// many records the server acknowledged. A batch the server does not answer
// "OK: n" stays in the store; one answered "OK: n" is acknowledged for its
// first n records (n counts the records the server processed; any beyond n
// are sent again).
func (t *Terminal) Upload(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := t.uploadOne(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

func (t *Terminal) uploadOne(ctx context.Context) (acked int, more bool, err error) {
	t.mu.Lock()
	table, from, lines := "", 0, 0
	var body []byte
	switch {
	case len(t.oper) > 0:
		table = "OPERLOG"
		lines = min(len(t.oper), t.opt.Batch)
		for _, l := range t.oper[:lines] {
			body = append(append(body, l...), '\n')
		}
	case len(t.query) > 0:
		table = "ATTLOG"
		lines = min(len(t.query), t.opt.Batch)
		for _, p := range t.query[:lines] {
			body = AppendAttlog(body, p)
		}
	case t.acked < len(t.records):
		table, from = "ATTLOG", t.acked
		lines = min(len(t.records)-t.acked, t.opt.Batch)
		for _, p := range t.records[from : from+lines] {
			body = AppendAttlog(body, p)
		}
	}
	stamp := strconv.Itoa(t.acked)
	isQuery := table == "ATTLOG" && len(t.oper) == 0 && len(t.query) > 0
	t.mu.Unlock()
	if table == "" {
		return 0, false, nil
	}
	t.inflight.Add(1)
	reply, err := t.do(ctx, http.MethodPost, "/iclock/cdata", url.Values{"table": {table}, "Stamp": {stamp}}, body)
	t.inflight.Add(-1)
	if err != nil {
		return 0, false, err
	}
	n, err := okCount(reply)
	if err != nil {
		return 0, false, fmt.Errorf("zkpushsim %s: %s upload: %w", t.sn, table, err)
	}
	n = min(n, lines)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.uploads++
	switch {
	case table == "OPERLOG":
		t.oper = t.oper[n:]
	case isQuery:
		t.query = t.query[n:]
	case t.acked == from: // a stamp reset meanwhile starts over instead
		t.acked += n
	}
	return n, n > 0, nil
}

// Uploads returns how many uploads the server acknowledged.
func (t *Terminal) Uploads() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.uploads
}

// Uploading reports whether an upload is on its way: sent, not yet
// answered. A test that kills the server while it is true kills it
// mid-upload.
func (t *Terminal) Uploading() bool { return t.inflight.Load() > 0 }

// Ping sends a heartbeat (§10).
func (t *Terminal) Ping(ctx context.Context) error {
	_, err := t.do(ctx, http.MethodGet, "/iclock/ping", url.Values{}, nil)
	return err
}

// UploadPhoto sends an attendance photo (§11.3): file name, serial, size,
// CMD=uploadphoto, NUL, the bytes.
func (t *Terminal) UploadPhoto(ctx context.Context, name string, jpeg []byte) error {
	body := fmt.Appendf(nil, "PIN=%s\nSN=%s\nsize=%d\nCMD=uploadphoto\x00", name, t.sn, len(jpeg))
	body = append(body, jpeg...)
	reply, err := t.do(ctx, http.MethodPost, "/iclock/cdata", url.Values{"table": {"ATTPHOTO"}, "Stamp": {"0"}}, body)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(strings.TrimSpace(reply), "OK") {
		return fmt.Errorf("zkpushsim %s: photo upload: reply %q", t.sn, reply)
	}
	return nil
}
