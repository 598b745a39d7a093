package devices_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDriversKnowNoTransport keeps the driver side of the layering: nothing
// under devices links the gateway (journal, uplink, config), provisioning, or
// an MQTT client. Drivers talk to a Sink; what happens after is not theirs.
func TestDriversKnowNoTransport(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-deps", "-test=false",
		"-f", `{{.ImportPath}}`, "github.com/officegate/officegate/devices/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{
		"github.com/officegate/officegate/gateway",
		"github.com/officegate/officegate/provisioning",
		"github.com/eclipse/paho.mqtt.golang",
		"github.com/mochi-mqtt/server",
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) == 0 {
		t.Fatal("go list found nothing: the check checks nothing")
	}
	for _, p := range pkgs {
		for _, f := range forbidden {
			if p == f || strings.HasPrefix(p, f+"/") {
				t.Errorf("devices links %s", p)
			}
		}
	}
}
