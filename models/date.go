package models

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// InputDatePattern is what a date looks like on the wire: an ISO 8601 date,
// or a date-time whose time is midnight UTC (what Python's
// datetime.isoformat() gives for a date stored as a datetime, which clients
// of the original send).
const InputDatePattern = `^[0-9]{4}-[0-9]{2}-[0-9]{2}(T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?)?$`

// DatePattern admits only real calendar dates (YYYY-MM-DD, leap years
// included); it is the pattern of the OpenAPI schema, which the API applies
// after reading a midnight date-time as its date (see MidnightDate).
const DatePattern = `^(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))` +
	`|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)$`

// DateRule is how a broken date is reported, by the schema and by Check alike.
const DateRule = "expected an ISO 8601 calendar date like 2000-01-02"

var datePattern = regexp.MustCompile(InputDatePattern)

// MidnightDate returns the date part of s when s is a date-time at midnight
// UTC that the service reads as a date, so that the schema, which says
// format: date, can check it.
func MidnightDate(s string) (string, bool) {
	if len(s) > 10 && datePattern.MatchString(s) {
		return s[:10], true
	}
	return s, false
}

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
		return Date{}, fmt.Errorf("%s, got %q", DateRule, s)
	}
	t, err := time.Parse(time.DateOnly, s[:10])
	if err != nil {
		return Date{}, fmt.Errorf("%s, got %q", DateRule, s)
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
		Type:               huma.TypeString,
		Format:             "date",
		Pattern:            DatePattern,
		PatternDescription: "an ISO 8601 calendar date like 2000-01-02",
		Description:        "ISO 8601 calendar date (YYYY-MM-DD); a date-time at midnight UTC (2000-01-02T00:00:00Z) is also accepted and read as its date",
		Examples:           []any{"2000-01-02"},
	}
}
