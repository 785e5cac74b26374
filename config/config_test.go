package config

import (
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8000" || c.Database != "osms" || c.DataDir != "./data" || c.BodyLimit != 1<<20 ||
		c.DBTimeout != 5*time.Second || c.MongoURI != "" || c.APIToken != "" || c.ShutdownDelay != 0 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	tests := []struct{ name, value, rule string }{
		{"DB_TIMEOUT", "5", "duration"},
		{"REQUEST_TIMEOUT", "0s", "positive"},
		{"BODY_LIMIT", "12", "whole number from 1024"},
		{"MONGODB_MAX_POOL_SIZE", "lots", "whole number"},
		{"LOG_LEVEL", "verbose", "debug, info"},
		{"LOG_FORMAT", "xml", "json, text"},
		{"LISTEN_ADDR", "8000", "host:port"},
		{"SESSION_KEY", "short", "32 bytes"},
		{"SHUTDOWN_DELAY", "-1s", "not negative"},
		{"SHUTDOWN_DELAY", "95", "duration"},
		{"SHUTDOWN_DELAY", "11m", "at most 10m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.name, tt.value))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("err = %v; want ErrInvalid naming %s and %q", err, tt.name, tt.rule)
			}
			if tt.name == "SESSION_KEY" && strings.Contains(err.Error(), tt.value) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestEnvironmentWinsOverDotEnv(t *testing.T) {
	path := t.TempDir() + "/.env"
	if err := writeFile(path, "LISTEN_ADDR=:9000\nMONGODB_DATABASE=fromfile\n"); err != nil {
		t.Fatal(err)
	}
	getenv, err := WithDotEnv(env("LISTEN_ADDR", ":7000"), path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":7000" || c.Database != "fromfile" {
		t.Errorf("got %s and %s, want :7000 (environment) and fromfile (.env)", c.ListenAddr, c.Database)
	}
	if _, err := WithDotEnv(env(), t.TempDir()+"/missing.env"); err != nil {
		t.Errorf("a missing .env is an error: %v", err)
	}
}

func TestValuesAreNormalised(t *testing.T) {
	tests := []struct {
		name  string
		env   func(string) string
		check func(Config) bool
	}{
		{"blank is the default", env("LISTEN_ADDR", "  ", "BODY_LIMIT", ""), func(c Config) bool { return c.ListenAddr == ":8000" && c.BodyLimit == 1<<20 }},
		{"values are trimmed", env("MONGODB_DATABASE", " games "), func(c Config) bool { return c.Database == "games" }},
		{"list items are trimmed, empty ones dropped", env("CORS_ALLOWED_ORIGINS", " https://a.example , ,https://b.example,"),
			func(c Config) bool { return strings.Join(c.CORSOrigins, "|") == "https://a.example|https://b.example" }},
		{"LOG_FORMAT ignores case", env("LOG_FORMAT", "TEXT"), func(c Config) bool { return c.LogFormat == "text" }},
		{"LOG_LEVEL ignores case", env("LOG_LEVEL", "WARN"), func(c Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"port 0 picks a free port", env("LISTEN_ADDR", "127.0.0.1:0"), func(c Config) bool { return c.ListenAddr == "127.0.0.1:0" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("%+v", c)
			}
		})
	}
}

func TestEveryInvalidValueIsReportedOnOneLine(t *testing.T) {
	_, err := Load(env("DB_TIMEOUT", "soon", "MONGODB_MAX_POOL_SIZE", "many", "BODY_LIMIT", "1", "API_TOKEN", "t", "SESSION_KEY", "tiny-secret"))
	var problems Problems
	if !errors.As(err, &problems) || len(problems) != 4 {
		t.Fatalf("err = %v; want 4 problems", err)
	}
	var p *Problem
	if !errors.As(err, &p) || p.Variable != "MONGODB_MAX_POOL_SIZE" {
		t.Errorf("first problem %+v, want MONGODB_MAX_POOL_SIZE (declaration order)", p)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "tiny-secret") {
		t.Errorf("not one line, or shows the secret: %q", msg)
	}
}

func TestExportToProcess(t *testing.T) {
	t.Setenv("OSMS_TEST_SET", "from-process")
	t.Setenv("OSMS_TEST_NEW", "")
	t.Setenv("OSMS_TEST_EMPTY", "")
	t.Setenv("OTHER_TEST_VALUE", "")
	values := map[string]string{
		"OSMS_TEST_SET":    "from-file", // the process environment wins
		"OSMS_TEST_NEW":    "from-file",
		"OSMS_TEST_EMPTY":  "", // blank means unset, as everywhere
		"OTHER_TEST_VALUE": "from-file",
	}
	set, err := ExportToProcess(values, func(name string) bool { return strings.HasPrefix(name, "OSMS_TEST_") })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(set, []string{"OSMS_TEST_NEW"}) {
		t.Errorf("set %q, want only OSMS_TEST_NEW", set)
	}
	for name, want := range map[string]string{"OSMS_TEST_SET": "from-process", "OSMS_TEST_NEW": "from-file", "OSMS_TEST_EMPTY": "", "OTHER_TEST_VALUE": ""} {
		if got := os.Getenv(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
