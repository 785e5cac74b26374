// Package password hashes login passwords with argon2id (PHC string format)
// and verifies them in constant time.
//
// argon2id rather than bcrypt because the API accepts passwords of up to 128
// characters and bcrypt silently ignores everything past 72 bytes.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost settings.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams follow OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane).
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
}

// ErrMalformedHash reports a stored hash this package cannot read.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes and verifies passwords with fixed parameters.
type Hasher struct {
	params Params
	// dummy is verified against when a user does not exist, so that a failed
	// login takes the same time whether or not the name is known.
	dummy string
}

// NewHasher returns a Hasher using p.
func NewHasher(p Params) (*Hasher, error) {
	h := &Hasher{params: p}
	// The dummy needs the real parameters, so that verifying against it
	// costs what a real verification costs, but not a real key: random bytes
	// match no password either. Hashing one here would allocate argon2's
	// whole memory (19 MiB by default) at start-up, which the Go runtime then
	// keeps resident while the service idles.
	key := make([]byte, p.KeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("read dummy key: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("read salt: %w", err)
	}
	h.dummy = h.encode(salt, key)
	return h, nil
}

// Hash returns the PHC string of password with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return h.encode(salt, key), nil
}

// encode formats a PHC string.
func (h *Hasher) encode(salt, key []byte) string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// Verify reports whether password matches the PHC string hash. An empty hash
// (unknown user) is checked against a dummy so the time spent is the same.
func (h *Hasher) Verify(password, hash string) (bool, error) {
	known := hash != ""
	if !known {
		hash = h.dummy
	}
	var (
		version     int
		m, t        uint32
		p           uint8
		saltB64, kB string
	)
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, ErrMalformedHash
	}
	saltB64, kB = parts[4], parts[5]
	salt, err := base64.RawStdEncoding.DecodeString(saltB64)
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := base64.RawStdEncoding.DecodeString(kB)
	if err != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	match := subtle.ConstantTimeCompare(got, want) == 1
	return match && known, nil
}
