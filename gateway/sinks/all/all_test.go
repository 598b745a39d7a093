package all

import (
	"strings"
	"testing"

	"github.com/officegate/officegate/gateway/sinks"
)

func TestNew(t *testing.T) {
	if _, err := New("archive", "file", sinks.Settings{"path": "/var/lib/officegate/archive.jsonl"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind string
		s    sinks.Settings
		want string
	}{
		{"ftp", nil, `sink "x": unknown kind "ftp"`},
		{"file", sinks.Settings{}, `sink "x": filesink: no path`},
		{"file", sinks.Settings{"path": "a", "paht": "b"}, `sink "x": unknown setting "paht"`},
		{"dingtalk", sinks.Settings{"appkey": "k"}, `sink "x": dingtalk: cloud: secret: appsecret_file is required`},
		{"wecom", sinks.Settings{"corpid": "c", "corpsecret": "s"}, `sink "x": unknown setting "corpsecret"`},
	} {
		_, err := New("x", c.kind, c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, %v) = %v, want an error containing %q", c.kind, c.s, err, c.want)
		}
	}
}
