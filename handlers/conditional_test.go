package handlers

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTagList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []entityTag
		any     bool
		wantErr bool
	}{
		{in: `"1"`, want: []entityTag{{Opaque: "1"}}},
		{in: `*`, any: true},
		{in: ` * `, any: true},
		{in: `W/"1", "2"`, want: []entityTag{{Weak: true, Opaque: "1"}, {Opaque: "2"}}},
		{in: `"1",,"2" ,`, want: []entityTag{{Opaque: "1"}, {Opaque: "2"}}},
		{in: `""`, want: []entityTag{{Opaque: ""}}},
		{in: `1`, wantErr: true},
		{in: `"1`, wantErr: true},
		{in: `"1" "2"`, wantErr: true},
		{in: `"a b"`, wantErr: true},
		{in: "\"a\x01\"", wantErr: true},
		{in: `w/"1"`, wantErr: true},
		{in: ``, wantErr: true},
		{in: `,`, wantErr: true},
		{in: `*, "1"`, wantErr: true},
	}
	for _, tt := range tests {
		got, gotAny, err := parseTagList(tt.in)
		if (err != nil) != tt.wantErr || gotAny != tt.any || !slices.Equal(got, tt.want) {
			t.Errorf("parseTagList(%q) = %v, %v, %v; want %v, %v, error %v", tt.in, got, gotAny, err, tt.want, tt.any, tt.wantErr)
		}
	}
	if vs := strongVersions([]entityTag{{Opaque: "7"}, {Weak: true, Opaque: "8"}, {Opaque: "x"}}); !slices.Equal(vs, []int64{7}) {
		t.Errorf("strongVersions = %v, want [7]: weak and foreign tags match nothing", vs)
	}
}

func TestParseIdempotencyKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"8e03978e-40d5-43e8-bc93-6894a57f9324", true},
		{"with space and ~!", true},
		{strings.Repeat("k", 255), true},
		{strings.Repeat("k", 256), false},
		{"", false},
		{"tab\t", false},
		{"é", false},
		{"nul\x00", false},
		{"del\x7f", false},
	}
	for _, tt := range tests {
		if _, err := parseIdempotencyKey(tt.in); (err == nil) != tt.ok {
			t.Errorf("parseIdempotencyKey(%q): error %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

// FuzzConditionalHeaders: parsing If-Match / If-None-Match never panics, and
// what it accepts is well-formed: written back as a list, it parses to the
// same tags.
func FuzzConditionalHeaders(f *testing.F) {
	for _, s := range []string{`"1"`, `*`, `W/"1", "2"`, `"1",,`, `"`, `W/`, `"a" "b"`, "\"\x7f\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tags, anyTag, err := parseTagList(in)
		if err != nil || anyTag {
			return
		}
		parts := make([]string, len(tags))
		for i, tg := range tags {
			if strings.ContainsAny(tg.Opaque, "\" \t") {
				t.Fatalf("accepted opaque tag %q from %q", tg.Opaque, in)
			}
			parts[i] = `"` + tg.Opaque + `"`
			if tg.Weak {
				parts[i] = "W/" + parts[i]
			}
		}
		again, _, err := parseTagList(strings.Join(parts, ", "))
		if err != nil || !slices.Equal(again, tags) {
			t.Fatalf("%q parsed to %v, which formats to a list that parses to %v (%v)", in, tags, again, err)
		}
		_ = strongVersions(tags)
	})
}

// FuzzIdempotencyKey: a key accepted is 1 to 255 printable ASCII bytes.
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"a", "", "key with spaces", "\x00", strings.Repeat("x", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		k, err := parseIdempotencyKey(in)
		if err != nil {
			return
		}
		if k != in || len(k) < 1 || len(k) > maxIdempotencyKey {
			t.Fatalf("accepted %q as %q", in, k)
		}
		for _, c := range []byte(k) {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("accepted a key with byte %#x", c)
			}
		}
	})
}

// recordOperation answers what the regular expression answers, also for the
// paths it skips the expression for.
func TestRecordOperation(t *testing.T) {
	paths := []string{
		"/ch11/player/get/1", "/ch11/player/add", "/ch11/login/update/7", "/ch11/game/delete/3", "/ch11/official/get",
		"/ch11/player/getx/1", "/ch11/player/", "/ch11/players/get/1", "/ch11/flask/index", "/ch11/", "/ch11",
		"/health/live", "/", "", "/ch11/django/admin/player/add", "/x/ch11/player/get/1", "/ch11/gamer/get/1",
	}
	for _, p := range paths {
		got, want := recordOperation(p), recordPath.FindStringSubmatch(p)
		if !slices.Equal(got, want) {
			t.Errorf("recordOperation(%q) = %q, the expression %q", p, got, want)
		}
	}
}
