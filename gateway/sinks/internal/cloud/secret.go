package cloud

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrSecret is wrapped by ReadSecret's error.
var ErrSecret = errors.New("cloud: secret")

// maxSecret bounds a secret file: the platforms' secrets are tens of bytes;
// a large file is a wrong path (a log, a key store), not a secret.
const maxSecret = 4096

// ReadSecret reads a secret from the file at path: its content without
// surrounding white space (a trailing newline from an editor). The error
// names the file, never its content.
func ReadSecret(key, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%w: %s is required", ErrSecret, key)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSecret, key, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	if err != nil {
		return "", fmt.Errorf("%w: %s: read %s: %w", ErrSecret, key, path, err)
	}
	if len(b) > maxSecret {
		return "", fmt.Errorf("%w: %s: %s is longer than %d bytes: not a secret file", ErrSecret, key, path, maxSecret)
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
