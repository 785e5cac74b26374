package models

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" means invalid
	}{
		{"2000-01-02", "2000-01-02"},
		{"2000-01-02T00:00:00", "2000-01-02"},
		{"2000-01-02T00:00:00Z", "2000-01-02"},
		{"2000-01-02T00:00:00.000+00:00", "2000-01-02"},
		{"2000-01-02T10:00:00", ""},
		{"2000-02-30", ""},
		{"02/01/2000", ""},
		{"", ""},
	}
	for _, tt := range tests {
		d, err := ParseDate(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParseDate(%q) accepted %v", tt.in, d)
		case tt.want != "" && (err != nil || d.String() != tt.want):
			t.Errorf("ParseDate(%q) = %v, %v; want %s", tt.in, d, err, tt.want)
		}
	}
}

func TestDateJSONKeepsInvalidInputForValidation(t *testing.T) {
	var p Player
	if err := json.Unmarshal([]byte(`{"birthday":"1999-13-01","date_started":"2000-01-01"}`), &p); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range p.Check(NewDate(2026, 1, 1)) {
		if f.Field == "birthday" {
			found = true
		}
	}
	if !found {
		t.Error("an invalid birthday was not reported by Check")
	}
	out, _ := json.Marshal(NewDate(2001, 2, 3))
	if string(out) != `"2001-02-03"` {
		t.Errorf("marshal: %s", out)
	}
}

func TestCheckRules(t *testing.T) {
	today := NewDate(2026, 6, 1)
	valid := Player{PlayerID: 1, FirstName: "A", LastName: "B", Age: 20, Birthday: NewDate(2006, 1, 1), DateStarted: NewDate(2020, 1, 1)}
	tests := []struct {
		name  string
		edit  func(*Player)
		field string
	}{
		{"valid", func(*Player) {}, ""},
		{"id zero", func(p *Player) { p.PlayerID = 0 }, "player_id"},
		{"age high", func(p *Player) { p.Age = 121 }, "age"},
		{"empty name", func(p *Player) { p.FirstName = "" }, "fname"},
		{"long name", func(p *Player) { p.LastName = strings.Repeat("x", MaxName+1) }, "lname"},
		{"born tomorrow", func(p *Player) { p.Birthday, p.DateStarted = NewDate(2026, 6, 2), NewDate(2026, 6, 2) }, "birthday"},
		{"started before birth", func(p *Player) { p.DateStarted = NewDate(2005, 1, 1) }, "date_started"},
		{"missing date", func(p *Player) { p.DateStarted = Date{} }, "date_started"},
		{"blank name", func(p *Player) { p.FirstName = " \t " }, "fname"},
		{"age contradicts birthday", func(p *Player) { p.Age = 45 }, "age"},
		{"age below the age at date_started", func(p *Player) { p.Age = 13 }, "age"},
		{"age at date_started", func(p *Player) { p.Age = 14 }, ""},
		{"age one ahead of UTC today", func(p *Player) { p.Age = 21 }, ""},
		{"age two ahead", func(p *Player) { p.Age = 22 }, "age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			tt.edit(&p)
			errs := p.Check(today)
			if tt.field == "" {
				if len(errs) != 0 {
					t.Errorf("valid player refused: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field {
				t.Errorf("errors %v, want exactly one on %s", errs, tt.field)
			}
		})
	}
	g := Game{GameID: 1, Name: "G", DateStart: NewDate(2024, 1, 2), DateEnd: NewDate(2024, 1, 1), Officials: []int64{3, 3}}
	fields := map[string]bool{}
	for _, f := range g.Check(today) {
		fields[f.Field] = true
	}
	if !fields["date_end"] || !fields["officials[1]"] {
		t.Errorf("game errors %v, want date_end and officials[1]", fields)
	}
}

// FuzzParseDate: ParseDate never panics, and what it accepts is the calendar
// date written in the input's first ten characters, which formats back to
// them and parses again to the same date.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2000-01-02", "2000-01-02T00:00:00", "2000-01-02T00:00:00.000+00:00", "2000-02-30",
		"0000-00-00", "9999-12-31T00:00Z", "2000-01-02T10:00:00", "２０００-01-02", "2000-01-02\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if !d.Valid() || d.String() != s[:10] {
			t.Fatalf("ParseDate(%q) = %v, want the date %q", s, d, s[:10])
		}
		again, err := ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("%q formats to %q, which parses to %v, %v", s, d.String(), again, err)
		}
		var fromJSON Date
		b, _ := json.Marshal(s)
		if err := fromJSON.UnmarshalJSON(b); err != nil || fromJSON != d {
			t.Fatalf("JSON %s decodes to %v, %v; ParseDate gave %v", b, fromJSON, err, d)
		}
	})
}

// TestDatePatternAdmitsOnlyRealDates compares the schema's pattern with the
// calendar over every day of a leap-year cycle's edge years.
func TestDatePatternAdmitsOnlyRealDates(t *testing.T) {
	re := regexp.MustCompile(DatePattern)
	for _, y := range []int{0, 4, 100, 400, 679, 1900, 1999, 2000, 2024, 2100, 9999} {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
				_, err := time.Parse(time.DateOnly, s)
				if re.MatchString(s) != (err == nil) {
					t.Errorf("pattern match %v for %s, calendar says %v", re.MatchString(s), s, err)
				}
			}
		}
	}
	for _, s := range []string{"0679-39-01", "2000-01-02T00:00:00", "2000-1-02", " 2000-01-02"} {
		if re.MatchString(s) {
			t.Errorf("pattern admits %q", s)
		}
	}
}
