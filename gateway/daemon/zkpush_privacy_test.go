package daemon_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices/zkpush/zkpushsim"
	"github.com/officegate/officegate/gateway/contract"
	"github.com/officegate/officegate/gateway/mqtttest"
)

// TestZKPushTemplatesNeverJournaled: a PUSH terminal uploads fingerprint and
// face templates, a template hidden in a USER line, and an attendance photo,
// beside a punch; the real gateway acknowledges them all, publishes the
// punch, and no byte of any template or photo is in any file under its state
// directory (journal segments included). A USER record's password and card
// number are not there either, while the USER and OPLOG records themselves
// are published as attendance.user and device.operation, within the contract.
func TestZKPushTemplatesNeverJournaled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := mqtttest.Start(t, nil)
	dir := t.TempDir()
	listen := freePort(t)
	sub := newCollector(t, b.URL, "officegate/gw-kill/devices/+/events/+")
	cmd := startChildZK(t, dir, b.URL, listen, "PRIV1")
	term := zkpushsim.New("PRIV1", "http://"+listen, &zkpushsim.Opts{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitUntil(t, 30*time.Second, "the gateway answers the terminal", func() bool { return term.Handshake(ctx) == nil })

	const fp, face, hidden, photo = "FPTEMPLATEMARKERxq7", "FACETEMPLATEMARKERzz9", "HIDDENTMPMARKERk2", "JPEGPHOTOMARKERw4"
	const passwd, card = "PASSWDMARKERv8", "98765432101234"
	secrets := []string{fp, face, hidden, photo, passwd, card}
	term.AddOper("USER PIN=9\tName=Bo\tPri=0\tPasswd=" + passwd + "\tCard=" + card + "\tGrp=1")
	term.AddOper("FP PIN=7\tFID=0\tSize=20\tValid=1\tTMP=" + fp)
	term.AddOper("FACE PIN=7\tFID=0\tSIZE=20\tVALID=1\tTMP=" + face)
	term.AddOper("USER PIN=7\tName=Ann\tTMP=" + hidden)
	term.AddOper("OPLOG 4\t14\t2026-01-05 10:22:34\t0\t0\t0\t0")
	if _, err := term.Punch("7", 0, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Upload(ctx); err != nil || term.Pending() != 0 {
		t.Fatalf("upload: %v, %d pending", err, term.Pending())
	}
	if err := term.UploadPhoto(ctx, "20260105082000-7.jpg", []byte("\xff\xd8\xff"+photo)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the punch, the user and the operation are published", func() bool {
		got := map[string]bool{}
		for _, e := range sub.events() {
			got[e.Type] = true
		}
		return got["attendance.punch"] && got["attendance.user"] && got["device.operation"]
	})
	sub.mu.Lock()
	for _, m := range sub.msgs {
		if err := contract.Strict(contract.Event, m); err != nil {
			t.Errorf("event breaks the contract: %v\n%s", err, m)
		}
		for _, s := range secrets {
			if bytes.Contains(m, []byte(s)) {
				t.Errorf("published %s holds %s", m, s)
			}
		}
	}
	sub.mu.Unlock()
	stopChild(t, cmd)

	files := 0
	err := filepath.WalkDir(filepath.Join(dir, "gw"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range secrets {
			if bytes.Contains(data, []byte(m)) {
				t.Errorf("%s holds %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no files under the gateway's state directory: nothing was checked")
	}
}

// startChildZK starts the gateway child with PUSH terminals sns on listen.
func startChildZK(t *testing.T, dir, broker, listen string, sns ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childStateEnv+"="+filepath.Join(dir, "gw"), childBrokerEnv+"="+broker,
		childDevicesEnv+"=", childZKPushEnv+"="+listen+"="+strings.Join(sns, ","))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A test that fails leaves no gateway behind (one killed or stopped
	// already makes these no-ops).
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}
