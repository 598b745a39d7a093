package kiosk

import (
	"bytes"
	"testing"
	"time"
)

func FuzzDecode(f *testing.F) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	h := "5f0c3b7e2a9d4c1b8e6f0a3d2c5b7e9f1a4d6c8b0e2f4a6c8d0b2e4f6a8c0d2e"
	c := newCache()
	c.invites["inv-1"] = &Invite{ID: "inv-1", TokenHash: h, Name: "张伟", Host: "Li Na", Company: "Acme",
		ValidFrom: t0, ValidUntil: t0.Add(8 * time.Hour)}
	c.byHash[h] = "inv-1"
	c.invites["inv-2"] = &Invite{ID: "inv-2", TokenHash: h[:63] + "0", Name: "Bob", Host: "H", ValidFrom: t0, ValidUntil: t0.Add(time.Hour), Revoked: true}
	c.visits["inv-1"] = &Visit{ID: "inv-1", TokenHash: h, Name: "张伟", Host: "Li Na", Method: MethodQR, CheckedIn: t0, CheckedOut: t0.Add(time.Hour)}
	c.visits["walkin-1"] = &Visit{ID: "walkin-1", TokenHash: h, Name: "W", Host: "H", Method: MethodApproved, CheckedIn: t0}
	for _, s := range []*cache{newCache(), c} {
		b, err := encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format":"officegate.kiosk.state","version":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decode(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to a file that decodes to the same state.
		e1, err := encode(c)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		c2, err := decode(e1)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v\n%s", err, e1)
		}
		e2, err := encode(c2)
		if err != nil || !bytes.Equal(e1, e2) {
			t.Fatalf("round trip differs:\n%s\n%s", e1, e2)
		}
	})
}
