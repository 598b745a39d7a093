package cloud

import (
	"errors"
	"fmt"
	"strings"

	"github.com/officegate/officegate/gateway/sinks"
)

// ErrSecret is wrapped by ReadSecret's error.
var ErrSecret = errors.New("cloud: secret")

// ReadSecret reads a secret from the file at path: its content without
// surrounding white space (a trailing newline from an editor). The error
// names the file, never its content.
func ReadSecret(key, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: %s is required", ErrSecret, key)
	}
	b, err := sinks.ReadSecretFile(key, path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSecret, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%w: %s: %s is empty", ErrSecret, key, path)
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%w: %s: %s holds more than one line", ErrSecret, key, path)
	}
	return s, nil
}
