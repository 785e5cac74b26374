package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSignInSettings: the sign-in variables are read, their rules name the
// variable, and no message shows a secret.
func TestSignInSettings(t *testing.T) {
	t.Parallel()
	const keys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	tests := []struct {
		name     string
		vars     map[string]string
		wantErr  string // "" for success
		hideText string // must not appear in the error
	}{
		{"defaults", map[string]string{}, "", ""},
		{"on with keys", map[string]string{"AUTH_ENABLED": "true", "JWT_SIGNING_KEYS": keys, "ACCESS_TOKEN_TTL": "15m",
			"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": "long-enough"}, "", ""},
		{"on without keys", map[string]string{"AUTH_ENABLED": "true"}, "JWT_SIGNING_KEYS", ""},
		{"not a boolean", map[string]string{"AUTH_ENABLED": "yes please"}, "AUTH_ENABLED", ""},
		{"TTL too short", map[string]string{"ACCESS_TOKEN_TTL": "10s"}, "ACCESS_TOKEN_TTL", ""},
		{"TTL too long", map[string]string{"ACCESS_TOKEN_TTL": "48h"}, "ACCESS_TOKEN_TTL", ""},
		{"username without password", map[string]string{"ADMIN_USERNAME": "root"}, "ADMIN_PASSWORD must be set together", ""},
		{"password without username", map[string]string{"ADMIN_PASSWORD": "secret-password"}, "ADMIN_USERNAME", "secret-password"},
		{"short password", map[string]string{"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": "short"}, "ADMIN_PASSWORD", "short\""},
	}
	for _, tt := range tests {
		c, err := Load(func(k string) string { return tt.vars[k] })
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want one naming %s", tt.name, err, tt.wantErr)
		case err != nil && tt.hideText != "" && strings.Contains(err.Error(), tt.hideText):
			t.Errorf("%s: the error shows the password: %v", tt.name, err)
		}
		if tt.name == "defaults" && (c.AuthEnabled || c.AccessTokenTTL != 30*time.Minute) {
			t.Errorf("defaults: AuthEnabled %v, AccessTokenTTL %v; want false, 30m", c.AuthEnabled, c.AccessTokenTTL)
		}
	}
}
