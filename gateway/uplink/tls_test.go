package uplink

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/officegate/officegate/gateway/mqtttest"
)

// pki is a throwaway CA with a broker certificate for 127.0.0.1 and a client
// certificate for the gateway, as PEM files in dir.
type pki struct{ dir string }

func newPKI(t *testing.T) pki {
	t.Helper()
	p := pki{dir: t.TempDir()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "officegate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.write(t, "ca.pem", "CERTIFICATE", caDER)
	issue := func(name string, serial int64, server bool) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		p.write(t, name+".pem", "CERTIFICATE", der)
		p.write(t, name+".key", "EC PRIVATE KEY", kder)
	}
	issue("broker", 2, true)
	issue("gateway", 3, false)
	return p
}

func (p pki) write(t *testing.T, name, typ string, der []byte) {
	if err := os.WriteFile(p.path(name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

// TestMutualTLS: the gateway connects with its client certificate to a broker
// that requires one, and re-reads its files at each connection attempt.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	port := mqtttest.FreePort(t)
	b := mqtttest.Start(t, &mqtttest.Options{Extra: []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"cafile " + p.path("ca.pem"),
		"certfile " + p.path("broker.pem"),
		"keyfile " + p.path("broker.key"),
		"require_certificate true",
		"tls_version tlsv1.2",
	}})
	_ = b
	url := fmt.Sprintf("ssl://127.0.0.1:%d", port)
	files := TLSFiles{CAFile: p.path("ca.pem"), CertFile: p.path("gateway.pem"), KeyFile: p.path("gateway.key")}

	// Without a client certificate the broker refuses the connection.
	noCert := TLSFiles{CAFile: p.path("ca.pem")}
	j := openJournal(t)
	m := &failures{}
	u := startUplink(t, j, url, func(o *Options) {
		o.TLS, o.Metrics = noCert.Config, m
		o.BackoffMin, o.BackoffMax = 20*time.Millisecond, 50*time.Millisecond
	})
	waitFor(t, "three refused attempts", 20*time.Second, func() bool { return m.n.Load() >= 3 })
	if ok, _ := u.Connected(); ok || m.up.Load() {
		t.Fatal("connected without a client certificate")
	}

	// With one it connects and publishes; the files are read per attempt, so a
	// certificate that appears later is picked up without a restart.
	j2 := openJournal(t)
	late := TLSFiles{CAFile: p.path("ca.pem"), CertFile: p.path("renewed.pem"), KeyFile: p.path("renewed.key")}
	m2 := &failures{}
	u2 := startUplink(t, j2, url, func(o *Options) {
		o.TLS, o.Metrics = late.Config, m2
		o.BackoffMin, o.BackoffMax = 20*time.Millisecond, 50*time.Millisecond
	})
	waitFor(t, "attempts without the certificate files", 20*time.Second, func() bool { return m2.n.Load() >= 2 })
	if ok, _ := u2.Connected(); ok {
		t.Fatal("connected with missing certificate files")
	}
	for _, f := range []string{"pem", "key"} { // the renewal lands
		b, _ := os.ReadFile(files.CertFile[:len(files.CertFile)-3] + f)
		os.WriteFile(p.path("renewed."+f), b, 0o600)
	}
	sub := subscribe(t, fmt.Sprintf("tcp://127.0.0.1:%d", b.Port), "officegate/gw-test/devices/+/events/#")
	appendEvent(t, j2, "attendance", "t-1", 1)
	waitFor(t, "connected over mutual TLS after the renewal", 20*time.Second, func() bool { ok, _ := u2.Connected(); return ok })
	waitFor(t, "event over TLS", 20*time.Second, func() bool { return len(sub.snapshot()) == 1 })
}

// failures counts failed connection attempts.
type failures struct {
	nopMetrics
	n  atomic.Int64
	up atomic.Bool
}

func (f *failures) Reconnect(error)   { f.n.Add(1) }
func (f *failures) Connected(up bool) { f.up.Store(f.up.Load() || up) }
