package password

import "testing"

var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerify(t *testing.T) {
	h, err := NewHasher(cheap)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{"correct horse": true, "wrong horse": false} {
		if ok, err := h.Verify(pw, hash); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
}

// An unknown user (empty hash) is checked against the dummy: it must parse,
// so that the argon2 work is really done, and never match.
func TestVerifyUnknownUserUsesDummy(t *testing.T) {
	h, err := NewHasher(cheap)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify("dummy password for unknown users", ""); err != nil || ok {
		t.Fatalf("Verify against the dummy = %v, %v; want false, nil", ok, err)
	}
	other, _ := NewHasher(cheap)
	if h.dummy == other.dummy {
		t.Error("two hashers share a dummy; it should be random")
	}
}
