package gpio_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/officegate/officegate/devices/gpio"
)

func TestOpenUnknownPin(t *testing.T) {
	_, err := gpio.Open("NO_SUCH_PIN_99")
	if !errors.Is(err, gpio.ErrUnknownPin) || !strings.Contains(err.Error(), `"NO_SUCH_PIN_99"`) {
		t.Fatalf("Open = %v, want ErrUnknownPin naming the pin", err)
	}
	// A second call reuses the first initialisation and says the same.
	_, err2 := gpio.Open("NO_SUCH_PIN_99")
	if err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("second Open = %v, first %v", err2, err)
	}
	t.Log(err)
}
