package console

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSelfSigned: made once, kept (same fingerprint) at the next start;
// the fingerprint is the SHA-256 of the certificate browsers show.
func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	cf, kf, fp, made, err := ensureSelfSigned(dir, "192.0.2.7:8443", now)
	if err != nil || !made {
		t.Fatalf("first start: %v %v", made, err)
	}
	_, _, fp2, made2, err := ensureSelfSigned(dir, "192.0.2.7:8443", now.Add(time.Hour))
	if err != nil || made2 || fp2 != fp {
		t.Fatalf("second start: made %v, %s vs %s, %v", made2, fp2, fp, err)
	}
	if fi, _ := os.Stat(kf); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", fi.Mode())
	}
	b, _ := os.ReadFile(cf)
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("192.0.2.7"); err != nil {
		t.Errorf("the listen address is not in the certificate: %v", err)
	}
	if fingerprintOf(blk.Bytes) != fp || len(fp) != 32*3-1 {
		t.Errorf("fingerprint %q", fp)
	}
}

// TestCertificateReload: renewed files are served at the next handshake
// without a restart; a renewal that is half written keeps the last good one.
func TestCertificateReload(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	now := time.Now()
	ca, ka, fa, _, err := ensureSelfSigned(a, "127.0.0.1:0", now)
	if err != nil {
		t.Fatal(err)
	}
	cb, kb, fb, _, err := ensureSelfSigned(b, "127.0.0.1:0", now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	cp := func(src, dst string, mod time.Time) {
		b, _ := os.ReadFile(src)
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(dst, mod, mod)
	}
	cp(ca, certFile, now)
	cp(ka, keyFile, now)
	s := &certSource{certFile: certFile, keyFile: keyFile}
	served := func() string {
		c, err := s.getCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return fingerprintOf(c.Certificate[0])
	}
	if served() != fa {
		t.Fatal("not the configured certificate")
	}
	later := now.Add(time.Minute)
	cp(cb, certFile, later)
	os.WriteFile(keyFile, []byte("half a key"), 0o600)
	os.Chtimes(keyFile, later, later)
	if served() != fa {
		t.Fatal("a half-written renewal replaced the good certificate")
	}
	cp(kb, keyFile, later.Add(time.Second))
	if served() != fb {
		t.Fatal("the renewed certificate is not served")
	}
}
