package provisioning

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/officegate/officegate/firmware-bridge/msg"
)

const (
	childDirEnv = "OFFICEGATE_PROVISIONING_DIR"
	childRunEnv = "OFFICEGATE_PROVISIONING_RUN"
)

// The plan every device of the kill test goes through; step n is acknowledged
// once the mutation returned. Odd devices are replaced at the last step,
// even ones retired.
const (
	stepPending = iota + 1
	stepApproved
	stepRenamed
	stepDisabled
	stepGone
)

func killIDs(run, i int) (hw, id string) {
	return fmt.Sprintf("R%02d-%05d", run, i), fmt.Sprintf("d%02d-%05d", run, i)
}

// TestRegistryChild is the process TestRegistryKilled starts and kills: it
// walks devices through the plan as fast as it can, writing an ack line after
// each mutation returns.
func TestRegistryChild(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("child process of TestRegistryKilled")
	}
	run, _ := strconv.Atoi(os.Getenv(childRunEnv))
	r, err := OpenWith(dir, Options{SeenEvery: time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	acks, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("acks-%02d", run)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		os.Exit(2)
	}
	ack := func(hw string, step int) {
		// One write(2) per line: a SIGKILL cannot tear it.
		if _, err := fmt.Fprintf(acks, "%s %d\n", hw, step); err != nil {
			os.Exit(2)
		}
	}
	must := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutation:", err)
			os.Exit(3)
		}
	}
	for i := 0; ; i++ {
		hw, id := killIDs(run, i)
		_, err := r.Pending(hw, msg.KindAttendance, "AT-200", "/dev/ttyS0", "1.0")
		must(err)
		ack(hw, stepPending)
		_, err = r.Approve(hw, id, id, "3F", "std")
		must(err)
		ack(hw, stepApproved)
		must(r.Seen(hw, time.Now()))
		must(r.Rename(id, id+"-b"))
		ack(hw, stepRenamed)
		must(r.Disable(id))
		ack(hw, stepDisabled)
		if i%2 == 1 {
			_, err = r.Replace(id, hw+"-N")
		} else {
			err = r.Retire(id)
		}
		must(err)
		ack(hw, stepGone)
	}
}

// TestRegistryKilled SIGKILLs a process mutating the registry at random
// moments, 20 times; after each kill the registry opens, is consistent, and
// holds every mutation acknowledged before the kill (and at most the one in
// flight beyond it).
func TestRegistryKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const kills = 20
	for run := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRegistryChild$")
		cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childRunEnv+"="+strconv.Itoa(run))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledged mutations, plus a
		// random fraction of one: the kill lands anywhere in a write.
		target := 1 + rng.IntN(12)
		deadline := time.Now().Add(30 * time.Second)
		for len(readAcks(t, dir, run)) < target {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("run %d: child made %d acks in 30 s; stderr: %s", run, len(readAcks(t, dir, run)), stderr.String())
			}
			time.Sleep(time.Millisecond) // polling a condition, not waiting for one
		}
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d: child ended by itself (%v): %s", run, err, stderr.String())
		}
		checkKilled(t, dir, run)
	}
}

// readAcks returns the last acknowledged step of every device of run.
func readAcks(t *testing.T, dir string, run int) map[string]int {
	t.Helper()
	out := map[string]int{}
	f, err := os.Open(filepath.Join(dir, fmt.Sprintf("acks-%02d", run)))
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hw, step, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.Atoi(step)
		if !ok || err != nil {
			t.Fatalf("ack line %q", sc.Text())
		}
		out[hw] = n
	}
	return out
}

func checkKilled(t *testing.T, dir string, lastRun int) {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("after kill %d: %v", lastRun, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(m) != 0 {
		t.Errorf("after kill %d: Open left %v", lastRun, m)
	}
	for run := 0; run <= lastRun; run++ {
		acked := readAcks(t, dir, run)
		for i := 0; ; i++ {
			hw, id := killIDs(run, i)
			want, ok := acked[hw]
			got, detail := observedStep(r, hw, id, i)
			if !ok {
				// Not acknowledged: at most the first step can be in flight.
				if got > stepPending {
					t.Errorf("after kill %d: %s unacknowledged but at step %d", lastRun, hw, got)
				}
				break
			}
			if got < want || got > want+1 {
				t.Errorf("after kill %d: %s acknowledged step %d, registry holds step %d (%s)", lastRun, hw, want, got, detail)
			}
		}
	}
	// Every key the registry refers to resolves, and no retired unit keeps one.
	if err := r.st.checkRefs(); err != nil {
		t.Errorf("after kill %d: %v", lastRun, err)
	}
}

// observedStep reads which step of the plan the registry holds for a device.
func observedStep(r *Registry, hw, id string, i int) (int, string) {
	d, err := r.ByHardwareID(hw)
	if err != nil {
		return 0, "absent"
	}
	detail := fmt.Sprintf("%s %q", d.State, d.Name)
	switch {
	case d.State == StatePending:
		return stepPending, detail
	case d.State == StateActive && d.Name == id:
		return stepApproved, detail
	case d.State == StateActive && d.Name == id+"-b":
		return stepRenamed, detail
	case d.State == StateDisabled:
		return stepDisabled, detail
	case d.State == StateRetired:
		if i%2 == 1 {
			n, err := r.ByHardwareID(hw + "-N")
			// The new unit awaits its key (agreed at its first HELLO, §6.7).
			if err != nil || n.State != StateActive || n.DeviceID != id || n.Name != id+"-b" || n.KeyRef != "" {
				return -1, fmt.Sprintf("replaced, but the new unit is %+v (%v)", n, err)
			}
		}
		return stepGone, detail
	}
	return -1, detail
}
