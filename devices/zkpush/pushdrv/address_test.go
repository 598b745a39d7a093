package pushdrv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/officegate/officegate/devices"
)

// TestAllowFromAndSecondAddress: a terminal pinned to addresses it does not
// call from is refused (and keeps its records); a serial seen from a second
// address raises an alarm.
func TestAllowFromAndSecondAddress(t *testing.T) {
	hub := NewHub(nil)
	sink := &memSink{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, c := range []cfg{
		{Serial: "PINNED", Listen: "127.0.0.1:0", TimeZone: "UTC", AllowFrom: []string{"192.0.2.0/24"}},
		{Serial: "OPEN", Listen: "127.0.0.1:0", TimeZone: "UTC", AllowFrom: []string{"127.0.0.1"}},
	} {
		d, err := New(hub, "zk-"+strings.ToLower(c.Serial), devices.Options{Config: c})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx, sink) }()
	}
	waitAttached(t, hub, 2)
	url := "http://" + hub.Addr("127.0.0.1:0")
	post := func(sn string) int {
		resp, err := http.Post(url+"/iclock/cdata?SN="+sn+"&table=ATTLOG", "text/plain", strings.NewReader("1\t2026-01-05 08:00:00\t0\t1\n"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("PINNED"); code != http.StatusForbidden {
		t.Fatalf("terminal pinned elsewhere answered %d, want 403", code)
	}
	if code := post("OPEN"); code != http.StatusOK {
		t.Fatalf("allowed terminal answered %d", code)
	}
	if n := len(sink.events("attendance.punch")); n != 1 {
		t.Fatalf("%d punches journaled, want the allowed terminal's 1", n)
	}
	// The same serial from another address (IPv6 loopback stands in for a
	// second host on the LAN).
	var d *Driver
	hub.mu.Lock()
	for _, l := range hub.listeners {
		d = l.terms["OPEN"]
	}
	hub.mu.Unlock()
	d.set.allow = nil
	r := httptest.NewRequest(http.MethodGet, "/iclock/ping?SN=OPEN", nil)
	r.RemoteAddr = "[::1]:4000"
	d.serve(httptest.NewRecorder(), r)
	alarms := sink.events("device.alarm")
	if len(alarms) != 1 || !strings.Contains(alarms[0].Data["detail"].(string), "seen from ::1, before from 127.0.0.1") {
		t.Fatalf("alarms %+v, want one naming both addresses", alarms)
	}
}
