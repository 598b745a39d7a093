package webhook

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/officegate/officegate/gateway/sinks"
)

// FromSettings builds a sink from its configuration (CONFIG.md "[[sinks]]"):
// url (required), batch, secret_file, ca_file, timeout.
func FromSettings(s sinks.Settings) (sinks.Sink, error) {
	if err := s.Only("url", "batch", "secret_file", "ca_file", "timeout"); err != nil {
		return nil, err
	}
	o := Opts{URL: s["url"]}
	if v, ok := s["batch"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("webhook: batch %q: want a number of events, 1..10000", v)
		}
		o.Batch = n
	}
	if v, ok := s["timeout"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("webhook: timeout %q: want a positive duration such as \"10s\"", v)
		}
		o.Timeout = d
	}
	if f := s["secret_file"]; f != "" {
		key, err := ReadSecret(f)
		if err != nil {
			return nil, err
		}
		o.Secret = key
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if f := s["ca_file"]; f != "" {
		pool, err := caPool(f)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	o.Client = &http.Client{Timeout: o.Timeout, Transport: tr}
	return New(o)
}

// ReadSecret reads a key file: its bytes without trailing newlines or
// spaces (an editor's final newline is not part of the key). The error
// names the file, never its content.
func ReadSecret(path string) ([]byte, error) {
	b, err := sinks.ReadSecretFile("secret_file", path)
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	b = bytes.TrimRight(b, "\r\n\t ")
	if len(b) == 0 {
		return nil, fmt.Errorf("webhook: secret_file %s is empty", path)
	}
	return b, nil
}

// caPool reads the certificates to trust for an https url.
func caPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhook: ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("webhook: ca_file %s: no PEM certificate in it", path)
	}
	return pool, nil
}
