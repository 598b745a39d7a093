package zkpushsim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkteco"
)

// Poll asks for commands (§12), executes them, and posts their results
// (§13). It returns the commands executed.
func (t *Terminal) Poll(ctx context.Context) ([]zkpush.Result, error) {
	t.mu.Lock()
	info := fmt.Sprintf("%s,%d,0,%d,127.0.0.1,10,7,15,0,100", t.opt.Firmware, len(t.users), len(t.records))
	t.mu.Unlock()
	reply, err := t.do(ctx, http.MethodGet, "/iclock/getrequest", url.Values{"INFO": {info}}, nil)
	if err != nil {
		return nil, err
	}
	var ran []zkpush.Result
	recheck := false
	zkpush.Lines([]byte(reply), func(_ int, line []byte) error {
		if strings.TrimSpace(string(line)) == "OK" {
			return nil
		}
		id, desc, err := zkpush.ParseCommand(line)
		if err != nil {
			return nil // a line the terminal cannot read is not a command
		}
		r := t.execute(id, desc)
		if r.Cmd == "CHECK" || r.Cmd == "REBOOT" {
			recheck = true
		}
		ran = append(ran, r)
		return nil
	})
	t.mu.Lock()
	t.results = append(t.results, ran...)
	t.mu.Unlock()
	if err := t.deliverResults(ctx); err != nil {
		return ran, err
	}
	if recheck {
		// CHECK (§12.3.1) and a reboot both start with a handshake.
		return ran, t.Handshake(ctx)
	}
	return ran, nil
}

// deliverResults posts the waiting results; they stay until answered OK.
func (t *Terminal) deliverResults(ctx context.Context) error {
	t.mu.Lock()
	rs := append([]zkpush.Result(nil), t.results...)
	t.mu.Unlock()
	if len(rs) == 0 {
		return nil
	}
	var body []byte
	for _, r := range rs {
		body = zkpush.AppendResult(body, r)
	}
	reply, err := t.do(ctx, http.MethodPost, "/iclock/devicecmd", url.Values{}, body)
	if err != nil {
		return err
	}
	if strings.TrimSpace(reply) != "OK" {
		return fmt.Errorf("zkpushsim %s: devicecmd reply %q", t.sn, reply)
	}
	t.mu.Lock()
	t.results = t.results[len(rs):]
	t.mu.Unlock()
	return nil
}

// fields splits "K=V\tK=V" into a map.
func fields(s string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Split(s, "\t") {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

// execute runs one command as a terminal does and returns its result.
func (t *Terminal) execute(id, desc string) zkpush.Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	word := func(n int) string {
		w := strings.SplitN(desc, " ", n+1)
		if len(w) > n {
			return strings.Join(w[:n], " ")
		}
		return desc
	}
	rest := func(prefix string) string { return strings.TrimPrefix(strings.TrimPrefix(desc, prefix), " ") }
	switch {
	case strings.HasPrefix(desc, "DATA UPDATE USERINFO "):
		f := fields(rest("DATA UPDATE USERINFO"))
		if f["PIN"] == "" {
			return zkpush.Result{ID: id, Return: zkpush.ReturnBadParameter, Cmd: "DATA"}
		}
		if _, ok := t.users[f["PIN"]]; !ok && len(t.users) >= 3000 { // a common terminal's user capacity
			return zkpush.Result{ID: id, Return: zkpush.ReturnCapacity, Cmd: "DATA"}
		}
		pri, _ := strconv.Atoi(f["Pri"])
		grp, _ := strconv.Atoi(f["Grp"])
		t.users[f["PIN"]] = User{PIN: f["PIN"], Name: f["Name"], Card: f["Card"], Pri: pri, Group: grp}
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "DATA"}
	case strings.HasPrefix(desc, "DATA DELETE USERINFO "):
		pin := fields(rest("DATA DELETE USERINFO"))["PIN"]
		if _, ok := t.users[pin]; !ok {
			return zkpush.Result{ID: id, Return: zkpush.ReturnNoSuchUser, Cmd: "DATA"}
		}
		delete(t.users, pin)
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "DATA"}
	case strings.HasPrefix(desc, "DATA QUERY ATTLOG "):
		f := fields(rest("DATA QUERY ATTLOG"))
		from, to := f["StartTime"], f["EndTime"]
		if !validTime(from) || !validTime(to) {
			return zkpush.Result{ID: id, Return: zkpush.ReturnBadParameter, Cmd: "DATA"}
		}
		for _, p := range t.records {
			// The layout sorts as text in time order.
			if p.Time >= from && p.Time <= to {
				t.query = append(t.query, p)
			}
		}
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "DATA"}
	case desc == "CHECK":
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "CHECK"}
	case desc == "AC_UNLOCK":
		// §12.7.2: the lock output opens for the terminal's own lock time.
		if !t.opt.Lock {
			return zkpush.Result{ID: id, Return: zkpush.ReturnUnsupported, Cmd: "AC_UNLOCK"}
		}
		t.unlocks++
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "AC_UNLOCK"}
	case desc == "REBOOT":
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "REBOOT"}
	case desc == "CLEAR LOG":
		t.records, t.acked = nil, 0
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "CLEAR_LOG"}
	case desc == "INFO":
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "INFO", Info: map[string]string{
			"~DeviceName": "emu", "FWVersion": t.opt.Firmware, "UserCount": strconv.Itoa(len(t.users)),
			"TransactionCount": strconv.Itoa(len(t.records)), "~SerialNumber": t.sn}}
	case strings.HasPrefix(desc, "SET OPTION "):
		k, v, ok := strings.Cut(rest("SET OPTION"), "=")
		if !ok || k == "" {
			return zkpush.Result{ID: id, Return: zkpush.ReturnBadParameter, Cmd: "SET OPTION"}
		}
		t.settings[k] = v
		return zkpush.Result{ID: id, Return: zkpush.ReturnOK, Cmd: "SET OPTION"}
	}
	return zkpush.Result{ID: id, Return: zkpush.ReturnUnsupported, Cmd: word(1)}
}

func validTime(s string) bool {
	_, err := zkpush.ParseAttlogLine([]byte("1\t" + s + "\t0\t0"))
	return err == nil && len(s) == len(zkteco.TimeLayout)
}
