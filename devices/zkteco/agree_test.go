package zkteco_test

import (
	"testing"

	"github.com/officegate/officegate/devices/zk4370"
	"github.com/officegate/officegate/devices/zkpush"
	"github.com/officegate/officegate/devices/zkteco"
)

// TestProtocolsAgree: the same punch, read as the PUSH protocol sends it (an
// ATTLOG line) and as the 4370 protocol does (a wall-clock Stamp of six
// numbers), gets one event source, so one id.
func TestProtocolsAgree(t *testing.T) {
	for _, c := range []struct {
		line  string
		stamp zk4370.Stamp
		pin   string
		state int
		ver   int
	}{
		{"1452\t2015-07-30 15:16:28\t0\t1\t0\t0\t0", zk4370.Stamp{Year: 2015, Month: 7, Day: 30, Hour: 15, Minute: 16, Second: 28}, "1452", 0, 1},
		{"00123\t2026-01-05 08:09:05\t1\t15", zk4370.Stamp{Year: 2026, Month: 1, Day: 5, Hour: 8, Minute: 9, Second: 5}, "00123", 1, 15},
	} {
		p, err := zkpush.ParseAttlogLine([]byte(c.line))
		if err != nil {
			t.Fatal(err)
		}
		push := p.Key("CQZ7224460")
		via4370 := zkteco.PunchKey("CQZ7224460", c.pin, c.stamp.String(), c.state, c.ver)
		if push != via4370 {
			t.Errorf("%q: PUSH source %+v, 4370 source %+v", c.line, push, via4370)
		}
	}
}
