package link

import (
	"crypto/ecdh"
	"encoding/hex"
	"testing"
)

// TestAgreeKeyVector: the key of PROTOCOL.md §6.7 for the RFC 7748 §6.1 key
// pairs (Alice the device, Bob the gateway), hardware id TERM-0001, epoch 1,
// is the same at both ends and is the one the spec prints.
func TestAgreeKeyVector(t *testing.T) {
	x := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	alice, _ := ecdh.X25519().NewPrivateKey(x("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	bob, _ := ecdh.X25519().NewPrivateKey(x("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	dev, err := agreeKey(alice, bob.PublicKey().Bytes(), "TERM-0001", 1)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := agreeKey(bob, alice.PublicKey().Bytes(), "TERM-0001", 1)
	if err != nil {
		t.Fatal(err)
	}
	const want = "3fbfacecb18503d92f286718b8ab9c01600887a2b7e69683a7602566df4a8a54"
	if got := hex.EncodeToString(dev.Secret); got != want || hex.EncodeToString(gw.Secret) != got {
		t.Fatalf("device key %x, gateway key %x, want %s", dev.Secret, gw.Secret, want)
	}
	if _, err := agreeKey(alice, make([]byte, 32), "TERM-0001", 1); err == nil {
		t.Error("a low-order (all-zero) peer key was accepted")
	}
}
