package pushdrv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/officegate/officegate/devices"
)

// TestOperRecordsJournaled: OPLOG and USER records are journaled as
// device.operation and attendance.user, durable before OK, under ids that
// survive a re-send; a USER record's password never enters the event and
// its card number only as card_hash under the site key (has_card without
// one); templates stay refused.
func TestOperRecordsJournaled(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	body := "OPLOG 4\t14\t2026-01-05 10:22:34\t0\t0\t0\t0\n" +
		"USER PIN=7\tName=Li\tPri=14\tPasswd=907153\tCard=3141592653\tGrp=1\n" +
		"USER PIN=8\tName=\xd5\xc5\xc8\xfd\tPri=0\tPasswd=\tCard=0\tGrp=1\n" + // 张三 in GB18030
		"FP PIN=7\tFID=0\tSize=20\tValid=1\tTMP=AAAA\n"
	for _, tc := range []struct {
		name string
		key  []byte
	}{{"card key", key}, {"no card key", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			hub := NewHub(nil)
			sink := &memSink{}
			d, err := New(hub, "zk-oper", devices.Options{Config: cfg{Serial: "OPER2", Listen: "127.0.0.1:0", TimeZone: "Asia/Shanghai"}, CardKey: tc.key})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); d.Run(ctx, sink) }()
			defer func() { cancel(); wg.Wait() }()
			waitAttached(t, hub, 1)
			for range 2 { // the terminal sends it again: same ids
				resp, err := http.Post("http://"+hub.Addr("127.0.0.1:0")+"/iclock/cdata?SN=OPER2&table=OPERLOG&Stamp=1", "text/plain", strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "OK: 4" {
					t.Fatalf("upload: %d %q, want OK: 4", resp.StatusCode, b)
				}
			}
			ops, users := sink.events(TypeOperation), sink.events(TypeUser)
			if len(ops) != 2 || len(users) != 4 || len(sink.evs) != 6 {
				t.Fatalf("%d operations, %d users, %d events; want 2, 4, 6 (the template refused)", len(ops), len(users), len(sink.evs))
			}
			if ops[0].Source != ops[1].Source || users[0].Source != users[2].Source || users[0].Source == users[1].Source {
				t.Fatalf("a re-sent record changed its id, or two users share one")
			}
			if op := ops[0]; op.TimeRaw != "2026-01-05 10:22:34" || op.Data["op"] != 4 || op.Data["operator"] != "14" {
				t.Fatalf("operation %+v", op)
			}
			li, zhang := users[0].Data, users[1].Data
			if li["person"] != "7" || li["name"] != "Li" || li["role"] != "admin" || zhang["name"] != "张三" || zhang["role"] != "user" {
				t.Fatalf("users %v, %v", li, zhang)
			}
			if tc.key != nil && li["card_hash"] != devices.KeyedHash(key, "3141592653") || tc.key == nil && li["has_card"] != true {
				t.Fatalf("card of user 7: %v", li)
			}
			if _, ok := zhang["card_hash"]; ok || zhang["has_card"] != nil {
				t.Fatalf("user 8 has card 0 (none): %v", zhang)
			}
			all := fmt.Sprintf("%+v", sink.evs)
			for _, secret := range []string{"907153", "3141592653", "Passwd", "AAAA"} {
				if strings.Contains(all, secret) {
					t.Errorf("an event holds %q: %s", secret, all)
				}
			}
			if st := d.Status(); st.Counters["oper_records"] != 6 || st.Counters["templates_refused"] != 2 {
				t.Fatalf("counters %v", st.Counters)
			}
		})
	}
}
