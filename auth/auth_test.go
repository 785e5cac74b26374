package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func key(id string, b byte) Key { return Key{ID: id, Secret: []byte(strings.Repeat(string(b), 32))} }

func newTokens(t *testing.T, now func() time.Time, keys ...Key) *Tokens {
	t.Helper()
	tk, err := New(Config{Keys: keys, TTL: 15 * time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	short := base64.StdEncoding.EncodeToString([]byte("short"))
	tests := []struct {
		in      string
		wantIDs []string
		wantErr string
	}{
		{"k1:" + b64, []string{"k1"}, ""},
		{"k2:" + b64 + ", k1:" + strings.TrimRight(b64, "="), []string{"k2", "k1"}, ""},
		{"", nil, "no key"},
		{"k1", nil, "kid:base64secret"},
		{"bad kid:" + b64, nil, "kid:base64secret"},
		{"k1:" + b64 + ",k1:" + b64, nil, "twice"},
		{"k1:!!!notbase64", nil, "not base64"},
		{"k1:" + short, nil, "at least 32"},
	}
	for _, tt := range tests {
		keys, err := ParseKeys(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrKeys) {
				t.Errorf("ParseKeys(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), b64) {
				t.Errorf("ParseKeys(%q) error shows the secret", tt.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKeys(%q): %v", tt.in, err)
			continue
		}
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
			t.Errorf("ParseKeys(%q) ids = %v, want %v", tt.in, ids, tt.wantIDs)
		}
	}
}

func TestIssueAndCheck(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tk := newTokens(t, func() time.Time { return now }, key("k1", 'a'))
	s, err := tk.Issue("alice", RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Check(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Role != RoleViewer || c.Issuer != DefaultIssuer ||
		len(c.Audience) != 1 || c.Audience[0] != DefaultAudience ||
		!c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(now.Add(15*time.Minute)) {
		t.Errorf("claims = %+v", c)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(s, &Claims{})
	if err != nil || tok.Header["kid"] != "k1" || tok.Header["alg"] != "HS256" {
		t.Errorf("header = %v (%v), want kid k1, alg HS256", tok.Header, err)
	}
	if _, err := tk.Issue("alice", "root"); err == nil {
		t.Error("Issue with an unknown role succeeded")
	}
}

// sign makes a token with arbitrary claims and header, for the refusals.
func sign(t *testing.T, method jwt.SigningMethod, kid string, secret any, c Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckRefuses(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	k1 := key("k1", 'a')
	tk := newTokens(t, clock, k1)
	good := func() Claims {
		return Claims{Role: RoleAdmin, RegisteredClaims: jwt.RegisteredClaims{
			Subject: "admin", Issuer: DefaultIssuer, Audience: jwt.ClaimStrings{DefaultAudience},
			IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
		}}
	}
	valid := sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, good())
	if _, err := tk.Check(valid); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}
	with := func(f func(*Claims)) Claims { c := good(); f(&c); return c }
	parts := strings.Split(valid, ".")
	noneTok := sign(t, jwt.SigningMethodNone, "k1", jwt.UnsafeAllowNoneSignatureType, good())

	tests := []struct {
		name, token, reason string
	}{
		{"expired", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) {
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute))
		})), "expired"},
		{"no expiry", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) { c.ExpiresAt = nil })), "missing"},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
			`{"role":"admin","sub":"mallory","iss":"sports-service","aud":["sports-service"],"exp":4102444800}`)) + "." + parts[2], "signature"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), "signature"},
		{"wrong key, same kid", sign(t, jwt.SigningMethodHS256, "k1", key("k1", 'b').Secret, good()), "signature"},
		{"unknown kid", sign(t, jwt.SigningMethodHS256, "k9", k1.Secret, good()), "signature"},
		{"no kid", sign(t, jwt.SigningMethodHS256, "", k1.Secret, good()), "signature"},
		{"alg none", noneTok, "signature"},
		{"alg HS512", sign(t, jwt.SigningMethodHS512, "k1", k1.Secret, good()), "signature"},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) {
			c.Audience = jwt.ClaimStrings{"another-service"}
		})), "audience"},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) { c.Issuer = "evil" })), "issuer"},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
		})), "not valid yet"},
		{"unknown role", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) { c.Role = "root" })), "role"},
		{"no subject", sign(t, jwt.SigningMethodHS256, "k1", k1.Secret, with(func(c *Claims) { c.Subject = "" })), "subject"},
		{"garbage", "not.a.jwt", "malformed"},
		{"empty", "", "malformed"},
	}
	for _, tt := range tests {
		_, err := tk.Check(tt.token)
		if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: Check = %v, want ErrInvalidToken saying %q", tt.name, err, tt.reason)
		}
		if err != nil && tt.token != "" && strings.Contains(err.Error(), tt.token) {
			t.Errorf("%s: the error shows the token", tt.name)
		}
	}
}

// TestRotation: after the new key is put first, tokens of the old key are
// still accepted until the old key is dropped; new tokens use the new key.
func TestRotation(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) }
	k0, k1 := key("k0", 'a'), key("k1", 'b')
	before := newTokens(t, now, k0)
	during := newTokens(t, now, k1, k0)
	after := newTokens(t, now, k1)

	old, _ := before.Issue("alice", RoleAdmin)
	fresh, _ := during.Issue("alice", RoleAdmin)
	tests := []struct {
		name   string
		tokens *Tokens
		token  string
		ok     bool
	}{
		{"old token, during rotation", during, old, true},
		{"new token, during rotation", during, fresh, true},
		{"new token, after rotation", after, fresh, true},
		{"old token, after rotation", after, old, false},
		{"new token, before rotation", before, fresh, false},
	}
	for _, tt := range tests {
		_, err := tt.tokens.Check(tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Check error = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	tk, err := New(Config{Keys: []Key{key("k1", 'a')}, TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	s, _ := tk.Issue("alice", RoleViewer)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.Check(s); err != nil {
			b.Fatal(err)
		}
	}
}
