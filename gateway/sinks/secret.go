package sinks

import (
	"fmt"
	"io"
	"os"
)

// MaxSecretFile bounds a sink's secret file (a password, an app secret, a
// signing key): secrets are tens of bytes, and a large file is a wrong path
// (a log, a key store), not a secret.
const MaxSecretFile = 4096

// ReadSecretFile reads the secret file a sink's setting names, whole, at
// most MaxSecretFile bytes; the caller trims it as its secret's rules say.
// The error names the setting and the file, never the content.
func ReadSecretFile(setting, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", setting, path, err)
	}
	if len(b) > MaxSecretFile {
		return nil, fmt.Errorf("%s: %s is longer than %d bytes: not a secret file", setting, path, MaxSecretFile)
	}
	return b, nil
}
