package console

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHash: the constant an unknown user's password is checked against
// is a bcrypt hash at BcryptCost (so the check takes as long as a real
// user's), of the text it says.
func TestDummyHash(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash)
	if err != nil || cost != BcryptCost {
		t.Fatalf("cost of dummyHash = %d, %v; want %d (make it again at BcryptCost)", cost, err, BcryptCost)
	}
	if err := bcrypt.CompareHashAndPassword(dummyHash, []byte("officegate-no-such-user")); err != nil {
		t.Fatalf("dummyHash is not the hash of its text: %v", err)
	}
}
