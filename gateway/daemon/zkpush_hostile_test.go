package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
	"github.com/officegate/officegate/devices/zkteco"
	"github.com/officegate/officegate/gateway/envelope"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestZKPushHostile: against the real gateway, a hostile client posting
// under a configured serial (10 MB bodies, 100k lines, binary garbage, bad
// dates, a slowloris, an unknown serial) gets clear answers, while an honest
// terminal beside it punches throughout and every one of its punches is
// published.
func TestZKPushHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	listen := freePort(t)
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")
	cmd := startChildZK(t, dir, b.URL, listen, "HONEST1", "HOSTILE1")
	base := "http://" + listen
	honest := zkpushsim.New("HONEST1", base, &zkpushsim.Opts{Batch: 10})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waitUntil(t, 30*time.Second, "the gateway answers", func() bool { return honest.Handshake(ctx) == nil })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); honest.Run(ctx, 10*time.Millisecond, 20*time.Millisecond) }()
	stopPunch := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stopPunch:
				return
			case <-time.After(5 * time.Millisecond):
			}
			honest.Punch(fmt.Sprint(20000+n), 0, 1)
		}
	}()

	slow, err := net.Dial("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /iclock/cdata?SN=HOSTILE1&table=ATTLOG HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")

	post := func(sn, body string) (int, string) {
		resp, err := http.Post(base+"/iclock/cdata?SN="+sn+"&table=ATTLOG&Stamp=1", "text/plain", strings.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		r, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(r)
	}
	line := "1\t2026-01-05 08:00:00\t0\t1\t0\t0\t0\n"
	for _, c := range []struct {
		name, sn, body string
		code           int
		reply          string
	}{
		{"100k lines", "HOSTILE1", strings.Repeat(line, 100000), 200, "OK: 10000"},
		{"10 MB line", "HOSTILE1", strings.Repeat("A", 10<<20), 200, "OK: 0"},
		{"garbage", "HOSTILE1", "\x00\x01\xff\xfe\n\x89PNG\r\n", 200, "OK: 2"},
		{"bad dates", "HOSTILE1", "1\t2026-02-30 08:00:00\t0\t1\n1\t2026-01-05 25:00:00\t0\t1\n", 200, "OK: 2"},
		{"unknown serial", "NOSUCH", line, 403, ""},
	} {
		code, reply := post(c.sn, c.body)
		if code != c.code || c.reply != "" && reply != c.reply {
			t.Errorf("%s: %d %q, want %d %q", c.name, code, reply, c.code, c.reply)
		}
	}
	close(stopPunch)
	waitUntil(t, 60*time.Second, "every honest punch published", func() bool {
		if honest.Pending() > 0 {
			return false
		}
		got := map[string]bool{}
		for _, e := range sub.events() {
			got[e.ID] = true
		}
		for _, r := range honest.Records() {
			if !got[envelope.KeyID("HONEST1", zkteco.PunchKey("HONEST1", r.PIN, r.Time, r.Status, r.Verify).Key)] {
				return false
			}
		}
		return true
	})
	cancel()
	wg.Wait()
	stopChild(t, cmd)
	alarms := 0
	for _, e := range sub.events() {
		if e.Type == "device.alarm" && e.Device == "zk-hostile1" {
			alarms++
		}
	}
	// 2 garbage lines + 2 bad dates; the 10 000 identical lines are one punch.
	if alarms < 4 {
		t.Errorf("%d alarms for the hostile terminal's bad lines, want 4", alarms)
	}
	t.Logf("honest terminal: %d punches, all published", len(honest.Records()))
}
