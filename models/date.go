package models

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// DatePattern is what a date looks like on the wire: an ISO 8601 date, or a
// date-time whose time is midnight UTC (what Python's datetime.isoformat()
// gives for a date stored as a datetime, which clients of the original send).
const DatePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}(T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?)?$`

var datePattern = regexp.MustCompile(DatePattern)

// Date is a calendar date without a time zone. It is written as "2006-01-02".
//
// Decoding never fails on a string: a string that is not a date is kept and
// reported by Validate with the field's name, so that a client gets every
// failing field at once instead of the first JSON decoding error.
type Date struct {
	t     time.Time
	valid bool   // t holds a date; 0001-01-01 is time.Time's zero, so t.IsZero cannot tell
	raw   string // the input, when it was not a valid date
}

// NewDate returns the date of y-m-d.
func NewDate(y int, m time.Month, d int) Date {
	return Date{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), valid: true}
}

// DateOf returns the calendar date of t in UTC.
func DateOf(t time.Time) Date {
	t = t.UTC()
	return NewDate(t.Year(), t.Month(), t.Day())
}

// ParseDate parses "2006-01-02" or a date-time at midnight.
func ParseDate(s string) (Date, error) {
	if !datePattern.MatchString(s) {
		return Date{}, fmt.Errorf("expected an ISO 8601 date like 2000-01-02, got %q", s)
	}
	t, err := time.Parse(time.DateOnly, s[:10])
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a calendar date", s[:10])
	}
	return Date{t: t, valid: true}, nil
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return d.t }

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return !d.valid && d.raw == "" }

// Valid reports whether the date holds a real calendar date.
func (d Date) Valid() bool { return d.valid }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// String formats the date as 2006-01-02 (or the invalid input as given).
func (d Date) String() string {
	if !d.valid {
		return d.raw
	}
	return d.t.Format(time.DateOnly)
}

// MarshalJSON writes "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) {
	if !d.valid {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON accepts a date string; see Date for why it does not fail on
// an invalid one. A value that is not a string is refused.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date must be a string: %w", err)
	}
	parsed, err := ParseDate(s)
	if err != nil {
		*d = Date{raw: s}
		return nil
	}
	*d = parsed
	return nil
}

// check reports a problem with the date of the named field, or "".
func (d Date) check() string {
	if d.raw != "" {
		if _, err := ParseDate(d.raw); err != nil {
			return err.Error()
		}
	}
	return ""
}

// Schema describes the date in the OpenAPI document.
func (Date) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{
		Type:        huma.TypeString,
		Pattern:     DatePattern,
		Description: "ISO 8601 date (YYYY-MM-DD); a date-time at midnight UTC is accepted on input",
		Examples:    []any{"2000-01-02"},
	}
}
