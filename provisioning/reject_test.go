package provisioning

import (
	"errors"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestReject: a pending unit is forgotten, durably; an approved one, or an
// unknown one, is refused; the forgotten unit is pending again at its next
// HELLO.
func TestReject(t *testing.T) {
	r, c, _ := newTest(t)
	for _, hw := range []string{"HW-1", "HW-2"} {
		if _, err := r.Pending(hw, msg.KindAttendance, "T1", "/dev/ttyX", "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Approve("HW-2", "t-2", "", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Reject("HW-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ByHardwareID("HW-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected unit still known: %v", err)
	}
	r = reopen(t, r, c)
	if _, err := r.ByHardwareID("HW-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejected unit back after reopening: %v", err)
	}
	if err := r.Reject("HW-2"); !errors.Is(err, ErrState) {
		t.Fatalf("Reject(active) = %v, want ErrState", err)
	}
	if err := r.Reject("HW-9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Reject(unknown) = %v, want ErrNotFound", err)
	}
	if d, err := r.Pending("HW-1", msg.KindAttendance, "T1", "/dev/ttyX", "1.0"); err != nil || d.State != StatePending {
		t.Fatalf("HELLO after reject: %v %v", d.State, err)
	}
}
