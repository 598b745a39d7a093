package console

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/officegate/officegate/internal/atomicfile"
)

// Self-signed certificate files in the state directory, made on the first
// start without configured files and kept, so that a browser that pinned
// the fingerprint once keeps trusting it.
const (
	selfCert = "console-cert.pem"
	selfKey  = "console-key.pem"
)

// selfValidity is how long the self-signed certificate is valid: a box on
// an office floor runs for years, and browsers accept a self-signed
// certificate of any validity only after the person confirmed it anyway.
const selfValidity = 10 * 365 * 24 * time.Hour

// certSource gives the TLS server its certificate, read again from its
// files when they change (a renewed certificate needs no restart).
type certSource struct {
	// Immutable.
	certFile, keyFile string

	mu sync.Mutex
	// Guarded by mu.
	cert          *tls.Certificate
	certMod, kMod time.Time
}

// getCertificate is tls.Config.GetCertificate. A renewal that leaves the
// pair unreadable keeps the last good certificate.
func (c *certSource) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err1 := os.Stat(c.certFile)
	ks, err2 := os.Stat(c.keyFile)
	if c.cert != nil && (err1 != nil || err2 != nil || cs.ModTime().Equal(c.certMod) && ks.ModTime().Equal(c.kMod)) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.cert != nil {
			return c.cert, nil
		}
		return nil, fmt.Errorf("console: certificate: %w", err)
	}
	c.cert = &cert
	if err1 == nil && err2 == nil {
		c.certMod, c.kMod = cs.ModTime(), ks.ModTime()
	}
	return c.cert, nil
}

// ensureSelfSigned makes the self-signed certificate in dir if it is not
// there yet, for the host names and addresses of listen, and returns its
// files and the SHA-256 fingerprint of the certificate (colon-separated
// hex, as browsers show it).
func ensureSelfSigned(dir, listen string, now time.Time) (certFile, keyFile, fingerprint string, made bool, err error) {
	certFile, keyFile = filepath.Join(dir, selfCert), filepath.Join(dir, selfKey)
	if b, err := os.ReadFile(certFile); err == nil {
		if _, err := os.Stat(keyFile); err == nil {
			fp, err := pemFingerprint(b)
			return certFile, keyFile, fp, false, err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", "", false, fmt.Errorf("console: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", false, fmt.Errorf("console: key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	host, _, _ := net.SplitHostPort(listen)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "officegate console", Organization: []string{"officegate"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(selfValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if hn, err := os.Hostname(); err == nil && hn != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, hn, hn+".local")
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if host != "" && !strings.Contains(host, ":") {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", "", false, fmt.Errorf("console: certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", "", false, fmt.Errorf("console: key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", "", false, fmt.Errorf("console: %w", err)
	}
	// The key first: a certificate never stands without its key.
	if err := atomicfile.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", "", false, fmt.Errorf("console: %w", err)
	}
	if err := atomicfile.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", "", false, fmt.Errorf("console: %w", err)
	}
	return certFile, keyFile, fingerprintOf(der), true, nil
}

func pemFingerprint(b []byte) (string, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return "", errors.New("console: self-signed certificate file holds no certificate")
	}
	return fingerprintOf(blk.Bytes), nil
}

// fingerprintOf is the SHA-256 of a certificate's DER bytes, as browsers
// show it: upper-case hex pairs separated by colons.
func fingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}
