// Package forms reads the admin site's forms into records. It is apart from
// package django so that fuzzing it builds only the models, not the database.
package forms

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/osms/sports-service/models"
)

// The Parse*Form functions turn a submitted form into a record and report
// every problem at once: first what cannot be read (a number that is not one,
// a malformed date), then the models' Check rules for the rest. They add no
// rules of their own beyond reading: the store applies the same Check again.

// ParsePlayerForm reads the player add/change form.
func ParsePlayerForm(form url.Values, today models.Date) (models.Player, []models.FieldError) {
	f := formReader{form: form}
	p := models.Player{
		PlayerID:    f.id("player_id"),
		FirstName:   f.text("fname"),
		LastName:    f.text("lname"),
		Age:         f.int("age"),
		Birthday:    f.date("birthday"),
		DateStarted: f.date("date_started"),
		GameID:      f.optionalID("game_id"),
	}
	return p, f.merge(p.Check(today))
}

// ParseOfficialForm reads the official add/change form.
func ParseOfficialForm(form url.Values, today models.Date) (models.Official, []models.FieldError) {
	f := formReader{form: form}
	o := models.Official{
		OfficialID:  f.id("official_id"),
		FirstName:   f.text("fname"),
		LastName:    f.text("lname"),
		Age:         f.int("age"),
		Birthday:    f.date("birthday"),
		DateStarted: f.date("date_started"),
	}
	return o, f.merge(o.Check(today))
}

// ParseGameForm reads the game add/change form; officials are ids separated
// by commas or spaces.
func ParseGameForm(form url.Values, today models.Date) (models.Game, []models.FieldError) {
	f := formReader{form: form}
	g := models.Game{
		GameID:    f.id("game_id"),
		Name:      f.text("name"),
		DateStart: f.date("date_start"),
		DateEnd:   f.date("date_end"),
		Officials: f.idList("officials"),
	}
	return g, f.merge(g.Check(today))
}

// ParseLoginForm reads the login add form.
func ParseLoginForm(form url.Values) (models.LoginCreate, []models.FieldError) {
	f := formReader{form: form}
	l := models.LoginCreate{
		LoginID:  f.id("login_id"),
		Username: f.text("username"),
		Password: f.secret("password"),
	}
	return l, f.merge(l.Check())
}

// ParsePasswordForm reads the password change form: the current password
// proves the change, as the API's PATCH /ch11/login/update asks.
func ParsePasswordForm(form url.Values) (models.LoginUpdate, []models.FieldError) {
	f := formReader{form: form}
	l := models.LoginUpdate{
		Username:    f.text("username"),
		Password:    f.secret("password"),
		NewPassword: f.secret("new_password"),
	}
	return l, f.merge(l.Check())
}

// formReader reads fields and remembers which could not be read.
type formReader struct {
	form url.Values
	errs []models.FieldError
}

func (f *formReader) fail(field, msg string) {
	f.errs = append(f.errs, models.FieldError{Field: field, Message: msg})
}

// merge returns the read errors followed by the rule errors of fields that
// were read: "must be a whole number" says more than "must be from 1 to 120".
func (f *formReader) merge(rules []models.FieldError) []models.FieldError {
	failed := map[string]bool{}
	for _, e := range f.errs {
		failed[e.Field] = true
	}
	out := f.errs
	for _, e := range rules {
		base, _, _ := strings.Cut(e.Field, "[") // officials[2] belongs to officials
		if !failed[e.Field] && !failed[base] {
			out = append(out, e)
		}
	}
	return out
}

// raw returns the field's first value; it must be UTF-8, as the database
// stores only UTF-8 strings.
func (f *formReader) raw(name string) (string, bool) {
	v := f.form.Get(name)
	if !utf8.ValidString(v) {
		f.fail(name, "must be valid UTF-8 text")
		return "", false
	}
	return v, true
}

func (f *formReader) text(name string) string {
	v, _ := f.raw(name)
	return strings.TrimSpace(v)
}

// secret reads a password as typed: spaces are part of it.
func (f *formReader) secret(name string) string {
	v, _ := f.raw(name)
	return v
}

func (f *formReader) number(name string, required bool) (int64, bool) {
	v, ok := f.raw(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		if ok && required {
			f.fail(name, "is required")
		}
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f.fail(name, "must be a whole number")
		return 0, false
	}
	return n, true
}

func (f *formReader) id(name string) int64 {
	n, _ := f.number(name, true)
	return n
}

func (f *formReader) int(name string) int {
	n, ok := f.number(name, true)
	if !ok {
		return 0
	}
	if int64(int(n)) != n {
		f.fail(name, "is out of range")
		return 0
	}
	return int(n)
}

// optionalID is nil for an empty field.
func (f *formReader) optionalID(name string) *int64 {
	n, ok := f.number(name, false)
	if !ok {
		return nil
	}
	return &n
}

func (f *formReader) date(name string) models.Date {
	v, ok := f.raw(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return models.Date{} // Check reports it as required
	}
	d, err := models.ParseDate(v)
	if err != nil {
		f.fail(name, err.Error())
		return models.Date{}
	}
	return d
}

// idList reads "1, 2 3". Repeats are refused here because the API's schema
// (uniqueItems) refuses them too; Check does not see the schema.
func (f *formReader) idList(name string) []int64 {
	v, ok := f.raw(name)
	if !ok {
		return nil
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(parts) > models.MaxGameOfficls {
		f.fail(name, fmt.Sprintf("must have at most %d items", models.MaxGameOfficls))
		return nil
	}
	ids := make([]int64, 0, len(parts))
	seen := make(map[int64]bool, len(parts))
	for _, s := range parts {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f.fail(name, fmt.Sprintf("%q is not a whole number; separate ids with commas", s))
			return nil
		}
		if seen[n] {
			f.fail(name, fmt.Sprintf("lists %d twice", n))
			return nil
		}
		seen[n] = true
		ids = append(ids, n)
	}
	return ids
}
