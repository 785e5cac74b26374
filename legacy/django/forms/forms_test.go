package forms

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/osms/sports-service/models"
)

var formToday = models.NewDate(2030, time.January, 1)

func TestParsePlayerForm(t *testing.T) {
	valid := url.Values{"player_id": {" 3 "}, "fname": {" Ann "}, "lname": {"Lee"}, "age": {"20"},
		"birthday": {"2005-01-01"}, "date_started": {"2010-01-01"}, "game_id": {""}}
	p, errs := ParsePlayerForm(valid, formToday)
	if len(errs) != 0 || p.PlayerID != 3 || p.FirstName != "Ann" || p.GameID != nil || p.Birthday.String() != "2005-01-01" {
		t.Fatalf("valid form: %+v %v", p, errs)
	}
	cases := []struct {
		name   string
		change map[string]string
		field  string
		want   string
	}{
		{"id not a number", map[string]string{"player_id": "x"}, "player_id", "whole number"},
		{"id missing", map[string]string{"player_id": ""}, "player_id", "required"},
		{"id zero", map[string]string{"player_id": "0"}, "player_id", "from 1"},
		{"age huge", map[string]string{"age": "99999999999999999999"}, "age", "whole number"},
		{"age out of range", map[string]string{"age": "121"}, "age", "from 1 to 120"},
		{"blank name", map[string]string{"fname": "   "}, "fname", "characters"},
		{"bad date", map[string]string{"birthday": "01/02/2005"}, "birthday", "ISO 8601"},
		{"no date", map[string]string{"date_started": ""}, "date_started", "required"},
		{"future birthday", map[string]string{"birthday": "2031-01-01", "date_started": "2031-02-01"}, "birthday", "future"},
		{"started before birth", map[string]string{"date_started": "2000-01-01"}, "date_started", "before birthday"},
		{"game id not a number", map[string]string{"game_id": "one"}, "game_id", "whole number"},
		{"game id zero", map[string]string{"game_id": "0"}, "game_id", "from 1"},
		{"invalid utf-8", map[string]string{"lname": "L\xffe"}, "lname", "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range valid {
				form[k] = v
			}
			for k, v := range c.change {
				form.Set(k, v)
			}
			_, errs := ParsePlayerForm(form, formToday)
			for _, e := range errs {
				if e.Field == c.field && strings.Contains(e.Message, c.want) {
					if n := countField(errs, c.field); n != 1 {
						t.Fatalf("%d errors for %s, want one: %v", n, c.field, errs)
					}
					return
				}
			}
			t.Fatalf("errors %v, want %s: %s", errs, c.field, c.want)
		})
	}
}

func countField(errs []models.FieldError, field string) int {
	n := 0
	for _, e := range errs {
		if e.Field == field {
			n++
		}
	}
	return n
}

func TestParseGameFormOfficials(t *testing.T) {
	base := url.Values{"game_id": {"1"}, "name": {"Cup"}, "date_start": {"2030-01-01"}, "date_end": {"2030-01-02"}}
	cases := []struct {
		officials string
		want      []int64
		err       string
	}{
		{"", []int64{}, ""},
		{"1, 2 3\n4", []int64{1, 2, 3, 4}, ""},
		{"1,,2,", []int64{1, 2}, ""},
		{"1, x", nil, "whole number"},
		{"2, 2", nil, "twice"},
		{"0", nil, "from 1"},
		{strings.Repeat("1 ", 101), nil, "at most 100"},
	}
	for _, c := range cases {
		form := url.Values{"officials": {c.officials}}
		for k, v := range base {
			form[k] = v
		}
		g, errs := ParseGameForm(form, formToday)
		if c.err == "" {
			if len(errs) != 0 || len(g.Officials) != len(c.want) {
				t.Errorf("%q: %v %v", c.officials, g.Officials, errs)
			}
			continue
		}
		if len(errs) == 0 || !strings.Contains(errs[0].Message, c.err) || !strings.HasPrefix(errs[0].Field, "officials") {
			t.Errorf("%q: errors %v, want %q", c.officials, errs, c.err)
		}
	}
}

func TestParseLoginForms(t *testing.T) {
	l, errs := ParseLoginForm(url.Values{"login_id": {"1"}, "username": {" ann "}, "password": {" spaced password "}})
	if len(errs) != 0 || l.Username != "ann" || l.Password != " spaced password " {
		t.Fatalf("%+v %v", l, errs)
	}
	_, errs = ParseLoginForm(url.Values{"login_id": {"1"}, "username": {"an"}, "password": {"short"}})
	if countField(errs, "username") != 1 || countField(errs, "password") != 1 {
		t.Fatalf("errors %v", errs)
	}
	_, errs = ParsePasswordForm(url.Values{"username": {"ann"}, "password": {""}, "new_password": {"long enough"}})
	if countField(errs, "password") != 1 {
		t.Fatalf("errors %v", errs)
	}
}

// The fuzz targets check two things for any input: no panic, and no record
// accepted (no errors) that the models' rules would refuse.

func FuzzParsePlayerForm(f *testing.F) {
	f.Add("1", "Ann", "Lee", "20", "2005-01-01", "2010-01-01", "")
	f.Add("9007199254740991", " A ", "B", "120", "2029-12-31T00:00:00Z", "2029-12-31", "7")
	f.Add("-1", "", "\xff", "1e3", "2005-02-30", "", "0x10")
	f.Fuzz(func(t *testing.T, id, first, last, age, birthday, started, game string) {
		form := url.Values{"player_id": {id}, "fname": {first}, "lname": {last}, "age": {age},
			"birthday": {birthday}, "date_started": {started}, "game_id": {game}}
		p, errs := ParsePlayerForm(form, formToday)
		if len(errs) == 0 {
			if rules := p.Check(formToday); len(rules) > 0 {
				t.Fatalf("accepted %+v that breaks %v", p, rules)
			}
			if p.GameID != nil && *p.GameID < models.MinID {
				t.Fatalf("accepted game_id %d", *p.GameID)
			}
		}
	})
}

func FuzzParseOfficialForm(f *testing.F) {
	f.Add("1", "Olga", "Ref", "50", "1975-05-05", "2000-01-01")
	f.Add("0", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, id, first, last, age, birthday, started string) {
		form := url.Values{"official_id": {id}, "fname": {first}, "lname": {last}, "age": {age}, "birthday": {birthday}, "date_started": {started}}
		o, errs := ParseOfficialForm(form, formToday)
		if len(errs) == 0 {
			if rules := o.Check(formToday); len(rules) > 0 {
				t.Fatalf("accepted %+v that breaks %v", o, rules)
			}
		}
	})
}

func FuzzParseGameForm(f *testing.F) {
	f.Add("10", "Final", "2030-06-01", "2030-06-02", "5, 6")
	f.Add("1", " ", "2030-06-02", "2030-06-01", "1,1")
	f.Fuzz(func(t *testing.T, id, name, start, end, officials string) {
		form := url.Values{"game_id": {id}, "name": {name}, "date_start": {start}, "date_end": {end}, "officials": {officials}}
		g, errs := ParseGameForm(form, formToday)
		if len(errs) == 0 {
			if rules := g.Check(formToday); len(rules) > 0 {
				t.Fatalf("accepted %+v that breaks %v", g, rules)
			}
			seen := map[int64]bool{}
			for _, id := range g.Officials {
				if seen[id] {
					t.Fatalf("accepted repeated official %d", id)
				}
				seen[id] = true
			}
		}
	})
}

func FuzzParseLoginForm(f *testing.F) {
	f.Add("1", "admin", "correct horse")
	f.Add("", "ab", "short")
	f.Fuzz(func(t *testing.T, id, username, password string) {
		l, errs := ParseLoginForm(url.Values{"login_id": {id}, "username": {username}, "password": {password}})
		if len(errs) == 0 {
			if rules := l.Check(); len(rules) > 0 {
				t.Fatalf("accepted %+v that breaks %v", l, rules)
			}
		}
		for _, e := range errs {
			if password != "" && len(password) > 3 && strings.Contains(e.Message, password) {
				t.Fatalf("an error message repeats the password: %v", e)
			}
		}
	})
}
