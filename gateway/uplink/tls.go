package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSFiles describes TLS to the broker by files. Its Config method reads them
// every time it is called — before every connection attempt — so a renewed
// client certificate or CA bundle is used at the next reconnect, no restart.
type TLSFiles struct {
	CAFile     string // PEM roots; empty: the system roots
	CertFile   string // PEM client certificate (mutual TLS), with KeyFile
	KeyFile    string
	ServerName string // empty: the broker URL's host
	// InsecureSkipVerify turns server verification off (the configuration
	// demands an explicit acknowledgement before it sets this).
	InsecureSkipVerify bool
}

// Config reads the files and builds the TLS configuration (TLS 1.2 or later).
func (t TLSFiles) Config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uplink: CA file %q holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: client certificate %q / key %q: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
