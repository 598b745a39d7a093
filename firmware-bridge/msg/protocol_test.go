package msg_test

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/officegate/officegate/firmware-bridge/frame"
	"github.com/officegate/officegate/firmware-bridge/msg"
)

// TestProtocolTables keeps the type table (§3) and the error code table
// (§11) of PROTOCOL.md in step with the constants.
func TestProtocolTables(t *testing.T) {
	f, err := os.Open("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	typeRow := regexp.MustCompile(`^\| 0x([0-9a-f]{2}) \| ([A-Z_]+) +\|`)
	codeRow := regexp.MustCompile(`^\| +(\d+) +\| ([a-z_]+) +\|`)
	types, codes := 0, 0
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
		}
		if m := typeRow.FindStringSubmatch(line); m != nil && strings.HasPrefix(section, "## 3.") {
			n, _ := strconv.ParseUint(m[1], 16, 8)
			ty := frame.Type(n)
			if ty.String() != m[2] || msg.New(ty) == nil {
				t.Errorf("PROTOCOL.md §3 says 0x%s is %s; code says %v", m[1], m[2], ty)
			}
			types++
		}
		if m := codeRow.FindStringSubmatch(line); m != nil && strings.HasPrefix(section, "## 11.") {
			n, _ := strconv.ParseUint(m[1], 10, 16)
			if c := msg.Code(n); c.String() != m[2] {
				t.Errorf("PROTOCOL.md §11 says code %s is %s; code says %v", m[1], m[2], c)
			}
			codes++
		}
	}
	if types != 17 || codes != 24 {
		t.Fatalf("found %d type rows and %d code rows; the tables moved?", types, codes)
	}
}
