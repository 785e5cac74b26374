package password

import (
	"errors"
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	h, err := NewHasher(Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("p", 128) // past bcrypt's 72-byte limit: every byte must count
	hash, err := h.Hash(long)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := h.Hash(long)
	if hash == other {
		t.Error("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		password, hash string
		want           bool
	}{
		{long, hash, true},
		{long[:127] + "q", hash, false},
		{long[:72], hash, false},
		{long, "", false}, // unknown user: dummy comparison, never a match
	}
	for i, tt := range tests {
		got, err := h.Verify(tt.password, tt.hash)
		if err != nil || got != tt.want {
			t.Errorf("case %d: Verify = %v, %v; want %v", i, got, err, tt.want)
		}
	}
	if _, err := h.Verify("x", "$2a$10$notargon"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("malformed hash: err = %v", err)
	}
}
