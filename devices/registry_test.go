package devices_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/officegate/officegate/devices"
)

type fakeConfig struct{ hold string }

func (c fakeConfig) Decode(v any) error {
	o, ok := v.(*buttonOpts)
	if !ok {
		return errors.New("fake: wrong type")
	}
	o.Hold = c.hold
	return nil
}

type buttonOpts struct{ Hold string }

func newButton(id string, o devices.Options) (devices.Driver, error) {
	opts := buttonOpts{Hold: "1s"}
	if o.Config != nil {
		if err := o.Config.Decode(&opts); err != nil {
			return nil, err
		}
	}
	if _, err := time.ParseDuration(opts.Hold); err != nil {
		return nil, errors.New("hold: " + err.Error())
	}
	return &button{id: id, kind: "button"}, nil
}

func TestRegistry(t *testing.T) {
	reg := devices.Registry{
		"button": newButton,
		"liar": func(id string, _ devices.Options) (devices.Driver, error) {
			return &button{id: "someone-else", kind: "liar"}, nil
		},
		"nil": func(string, devices.Options) (devices.Driver, error) { return nil, nil },
	}
	if got := strings.Join(reg.Kinds(), ","); got != "button,liar,nil" {
		t.Errorf("Kinds() = %s", got)
	}
	d, err := reg.New("button", "b1", devices.Options{})
	if err != nil || d.Describe().ID != "b1" {
		t.Fatalf("New: %v, %v", d, err)
	}

	_, err = reg.New("wiegand", "w1", devices.Options{})
	if !errors.Is(err, devices.ErrUnknownKind) || !strings.Contains(err.Error(), `"wiegand"`) ||
		!strings.Contains(err.Error(), `"w1"`) || !strings.Contains(err.Error(), "button, liar, nil") {
		t.Errorf("unknown kind: %v", err)
	}
	_, err = reg.New("button", "b2", devices.Options{Config: fakeConfig{hold: "soon"}})
	if err == nil || !strings.Contains(err.Error(), `button device "b2"`) || !strings.Contains(err.Error(), "soon") {
		t.Errorf("bad config: %v", err)
	}
	if _, err = reg.New("button", "", devices.Options{}); err == nil {
		t.Error("empty id accepted")
	}
	if _, err = reg.New("liar", "l1", devices.Options{}); err == nil || !strings.Contains(err.Error(), "someone-else") {
		t.Errorf("mismatched description: %v", err)
	}
	if _, err = reg.New("nil", "n1", devices.Options{}); err == nil || !strings.Contains(err.Error(), "no driver") {
		t.Errorf("nil driver: %v", err)
	}
}

func TestOptionsClock(t *testing.T) {
	fixed := time.Unix(42, 0)
	if got := (devices.Options{Now: func() time.Time { return fixed }}).Clock()(); !got.Equal(fixed) {
		t.Errorf("injected clock: %v", got)
	}
	if got := (devices.Options{}).Clock()(); got.IsZero() {
		t.Error("default clock returned zero")
	}
}
