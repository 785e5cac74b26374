package models

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// FieldError is one broken rule: the field (JSON name) and what the rule asks.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// bySchema: the API's JSON schema states this rule too, so the API,
	// which validates against the schema first, leaves it out of its answer
	// instead of reporting one problem twice.
	bySchema bool
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationError carries every broken rule of one record.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// ErrValidation is matched by errors.Is for every *ValidationError.
var ErrValidation = errors.New("validation failed")

// Is makes errors.Is(err, ErrValidation) true.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// AsError returns nil for no failures, else a *ValidationError.
func AsError(fields []FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: fields}
}

// rules collects failures in field order.
type rules []FieldError

func (r *rules) add(field, format string, args ...any) {
	*r = append(*r, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (r *rules) id(field string, v int64) {
	if v < MinID || v > MaxID {
		r.add(field, "must be an integer from %d to %d", MinID, int64(MaxID))
	}
}

func (r *rules) schemaRule(field, format string, args ...any) {
	*r = append(*r, FieldError{Field: field, Message: fmt.Sprintf(format, args...), bySchema: true})
}

func (r *rules) text(field, v string, lo, hi int) {
	if n := utf8.RuneCountInString(v); n < lo || n > hi {
		r.add(field, "must be %d to %d characters long", lo, hi)
	}
}

// name checks a person's name: its length, and that it is not blank.
func (r *rules) name(field, v string) {
	r.text(field, v, 1, MaxName)
	if v != "" && strings.TrimSpace(v) == "" {
		r.schemaRule(field, "expected string to be %s", nameRule)
	}
}

const nameRule = "a name with at least one character that is not a space"

// ageMatches checks age against birthday: age is what the person was on some
// day from date_started to today (records are not re-aged every year), so it
// lies between the completed years at date_started and one more than those
// today (a client's day may be ahead of UTC's).
func (r *rules) ageMatches(age int, birthday, started, today Date) {
	if age < MinAge || age > MaxAge || !birthday.Valid() || !started.Valid() || started.Before(birthday) || birthday.After(today) {
		return // other rules report these
	}
	lo, hi := yearsBetween(birthday, started), yearsBetween(birthday, today)+1
	if age < lo || age > hi {
		r.add("age", "must agree with birthday %s: from %d (at date_started) to %d (today)", birthday, lo, hi)
	}
}

// yearsBetween is the completed years from birthday to d.
func yearsBetween(birthday, d Date) int {
	b, t := birthday.Time(), d.Time()
	n := t.Year() - b.Year()
	if t.Month() < b.Month() || (t.Month() == b.Month() && t.Day() < b.Day()) {
		n--
	}
	return n
}

func (r *rules) age(field string, v int) {
	if v < MinAge || v > MaxAge {
		r.add(field, "must be from %d to %d", MinAge, MaxAge)
	}
}

func (r *rules) requiredDate(field string, d Date) bool {
	if d.IsZero() {
		r.schemaRule(field, "is required")
		return false
	}
	return r.date(field, d)
}

func (r *rules) date(field string, d Date) bool {
	if msg := d.check(); msg != "" {
		r.schemaRule(field, "%s", msg)
		return false
	}
	return true
}

// person checks the rules that officials and players share beyond the schema.
func (r *rules) personDates(birthday, started Date, today Date) {
	okB := r.requiredDate("birthday", birthday)
	okS := r.requiredDate("date_started", started)
	if okB && birthday.After(today) {
		r.add("birthday", "must not be in the future (today is %s)", today)
	}
	if okB && okS && started.Before(birthday) {
		r.add("date_started", "must not be before birthday (%s)", birthday)
	}
}

// Check applies every rule to a whole official; the admin site uses it directly.
func (o Official) Check(today Date) []FieldError {
	var r rules
	r.id("official_id", o.OfficialID)
	r.name("fname", o.FirstName)
	r.name("lname", o.LastName)
	r.age("age", o.Age)
	r = append(r, o.crossCheck(today)...)
	return r
}

// crossCheck holds the rules that the JSON schema cannot express.
func (o Official) crossCheck(today Date) []FieldError {
	var r rules
	r.personDates(o.Birthday, o.DateStarted, today)
	r.ageMatches(o.Age, o.Birthday, o.DateStarted, today)
	return r
}

// Check applies every rule to a whole player.
func (p Player) Check(today Date) []FieldError {
	var r rules
	r.id("player_id", p.PlayerID)
	r.name("fname", p.FirstName)
	r.name("lname", p.LastName)
	r.age("age", p.Age)
	if p.GameID != nil {
		r.id("game_id", *p.GameID)
	}
	r = append(r, p.crossCheck(today)...)
	return r
}

func (p Player) crossCheck(today Date) []FieldError {
	var r rules
	r.personDates(p.Birthday, p.DateStarted, today)
	r.ageMatches(p.Age, p.Birthday, p.DateStarted, today)
	return r
}

// Check applies every rule to a whole game.
func (g Game) Check(today Date) []FieldError {
	var r rules
	r.id("game_id", g.GameID)
	r.text("name", g.Name, 1, MaxGameName)
	if len(g.Officials) > MaxGameOfficls {
		r.add("officials", "must have at most %d items", MaxGameOfficls)
	}
	for i, id := range checkedItems(g.Officials) {
		if id < MinID || id > MaxID {
			r.add(fmt.Sprintf("officials[%d]", i), "must be an integer from %d to %d", MinID, int64(MaxID))
		}
	}
	r = append(r, g.crossCheck(today)...)
	return r
}

func (g Game) crossCheck(Date) []FieldError {
	var r rules
	okS := r.requiredDate("date_start", g.DateStart)
	okE := r.requiredDate("date_end", g.DateEnd)
	if okS && okE && g.DateEnd.Before(g.DateStart) {
		r.add("date_end", "must not be before date_start (%s)", g.DateStart)
	}
	seen := make(map[int64]bool, len(g.Officials))
	for i, id := range checkedItems(g.Officials) {
		if seen[id] {
			r.add(fmt.Sprintf("officials[%d]", i), "duplicates official %d", id)
		}
		seen[id] = true
	}
	return r
}

// checkedItems is the part of a list whose items are checked one by one: the
// whole list when it is within MaxGameOfficls, else none, since the list is
// refused for its length already. Checking each item of a 500,000-item list
// (a 1 MB body) made as many error entries and kept a CPU busy for minutes.
func checkedItems(ids []int64) []int64 {
	if len(ids) > MaxGameOfficls {
		return nil
	}
	return ids
}

// Check applies every rule to a new login.
func (l LoginCreate) Check() []FieldError {
	var r rules
	r.id("login_id", l.LoginID)
	r.text("username", l.Username, MinUsername, MaxUsername)
	r.text("password", l.Password, MinPassword, MaxPassword)
	if l.Role != "" && l.Role != RoleAdmin && l.Role != RoleViewer {
		r.add("role", "must be admin or viewer")
	}
	return r
}

// Check applies every rule to a password change.
func (l LoginUpdate) Check() []FieldError {
	var r rules
	r.text("username", l.Username, MinUsername, MaxUsername)
	r.text("password", l.Password, 1, MaxPassword)
	r.text("new_password", l.NewPassword, MinPassword, MaxPassword)
	return r
}

// patchDates checks the format of the dates a patch sets; the merged record is
// checked again by the repository against what is stored.
func patchDates(fields map[string]*Date) []FieldError {
	var r rules
	for _, name := range []string{"birthday", "date_started", "date_start", "date_end"} {
		if d, ok := fields[name]; ok && d != nil {
			if d.IsZero() {
				continue // null: refused before the schema (see handlers.strictBody)
			}
			r.date(name, *d)
		}
	}
	return r
}

// The Resolve methods are called by the API framework after JSON-schema
// validation, so a client gets schema and cross-field failures in one answer.

func resolve(prefix *huma.PathBuffer, fields []FieldError) []error {
	var errs []error
	for _, f := range fields {
		if !f.bySchema {
			errs = append(errs, &huma.ErrorDetail{Location: prefix.With(f.Field), Message: f.Message})
		}
	}
	return errs
}

// Resolve implements huma.ResolverWithPath.
func (o *Official) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	return resolve(prefix, o.crossCheck(Today()))
}

// Resolve implements huma.ResolverWithPath.
func (p *Player) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	return resolve(prefix, p.crossCheck(Today()))
}

// Resolve implements huma.ResolverWithPath.
func (g *Game) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	return resolve(prefix, g.crossCheck(Today()))
}

// Resolve implements huma.ResolverWithPath.
func (p *OfficialPatch) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	return resolve(prefix, patchDates(map[string]*Date{"birthday": p.Birthday, "date_started": p.DateStarted}))
}

// Resolve implements huma.ResolverWithPath.
func (p *PlayerPatch) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	return resolve(prefix, patchDates(map[string]*Date{"birthday": p.Birthday, "date_started": p.DateStarted}))
}

// Resolve implements huma.ResolverWithPath.
func (p *GamePatch) Resolve(_ huma.Context, prefix *huma.PathBuffer) []error {
	return resolve(prefix, patchDates(map[string]*Date{"date_start": p.DateStart, "date_end": p.DateEnd}))
}
