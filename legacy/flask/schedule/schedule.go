// Package schedule builds round-robin tournaments with the circle method and
// lays their rounds out on a calendar.
//
// Teams are numbered 0..n-1; callers keep the names. For an odd count a
// phantom team makes the count even and whoever meets it has a bye.
package schedule

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/osms/sports-service/models"
)

// Limits keep a request's work bounded: 256 teams make 255 rounds of 128
// matches (510 rounds double), a few hundred kilobytes of JSON.
const (
	MinTeams        = 2
	MaxTeams        = 256
	MaxIntervalDays = 365
	MaxSkipDates    = 1000
)

// ErrInvalid is wrapped by every error about the input.
var ErrInvalid = errors.New("invalid schedule input")

// Match is one fixture between two teams, by index.
type Match struct {
	Home int
	Away int
}

// Round is the set of matches played on one date; no team appears twice.
type Round struct {
	Number  int         // 1-based
	Date    models.Date // when the round is played
	Matches []Match
	Bye     int // the team that rests this round, or -1
}

// Options describe the tournament and its calendar.
type Options struct {
	Teams int
	// Double plays every pair twice, the second half mirroring the first
	// with home and away swapped.
	Double bool
	// Start is the earliest date of the first round.
	Start models.Date
	// IntervalDays is the least number of days between two rounds (>= 1).
	IntervalDays int
	// SkipWeekdays and SkipDates are rest days: a round that would fall on
	// one moves to the next allowed day.
	SkipWeekdays []time.Weekday
	SkipDates    []models.Date
}

// Build returns the rounds of the tournament described by o.
func Build(o Options) ([]Round, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	pairings := Pairings(o.Teams, o.Double)
	dates, err := Dates(o.Start, o.IntervalDays, len(pairings), o.SkipWeekdays, o.SkipDates)
	if err != nil {
		return nil, err
	}
	for i := range pairings {
		pairings[i].Date = dates[i]
	}
	return pairings, nil
}

func (o Options) check() error {
	switch {
	case o.Teams < MinTeams || o.Teams > MaxTeams:
		return fmt.Errorf("%w: need %d to %d teams, got %d", ErrInvalid, MinTeams, MaxTeams, o.Teams)
	case !o.Start.Valid():
		return fmt.Errorf("%w: start date is required", ErrInvalid)
	case o.IntervalDays < 1 || o.IntervalDays > MaxIntervalDays:
		return fmt.Errorf("%w: interval must be 1 to %d days, got %d", ErrInvalid, MaxIntervalDays, o.IntervalDays)
	case len(o.SkipDates) > MaxSkipDates:
		return fmt.Errorf("%w: at most %d skipped dates", ErrInvalid, MaxSkipDates)
	}
	return nil
}

// Pairings returns the rounds of a round robin of n >= 2 teams without dates.
//
// Circle method: with m = n rounded down to an odd number, team r rests (or
// meets the fixed team n-1 when n is even) in round r, and the other teams
// pair up as (r+k, r-k) mod m for k = 1..(m-1)/2. Since m is odd, 2 is
// invertible mod m, so every pair {a, b} meets in exactly one round
// r = (a+b)/2 mod m.
//
// Home and away: of a pair a < b among the circle, a is at home when a+b is
// odd; over the m-1 circle opponents every team is then at home exactly
// (m-1)/2 times. The fixed team alternates, so its difference is at most 1,
// and the team facing it gains one game, so its difference is exactly 1.
func Pairings(n int, double bool) []Round {
	if n < MinTeams {
		return nil
	}
	m := n
	if n%2 == 0 {
		m = n - 1
	}
	rounds := make([]Round, 0, m*2)
	for r := range m {
		round := Round{Number: r + 1, Bye: -1, Matches: make([]Match, 0, n/2)}
		if n%2 == 1 {
			round.Bye = r
		} else {
			fixed := n - 1
			if r%2 == 0 {
				round.Matches = append(round.Matches, Match{Home: fixed, Away: r})
			} else {
				round.Matches = append(round.Matches, Match{Home: r, Away: fixed})
			}
		}
		for k := 1; k <= (m-1)/2; k++ {
			a, b := (r+k)%m, (r-k+m)%m
			round.Matches = append(round.Matches, orient(a, b))
		}
		rounds = append(rounds, round)
	}
	if double {
		for i := range m {
			first := rounds[i]
			mirror := Round{Number: m + i + 1, Bye: first.Bye, Matches: make([]Match, len(first.Matches))}
			for j, mt := range first.Matches {
				mirror.Matches[j] = Match{Home: mt.Away, Away: mt.Home}
			}
			rounds = append(rounds, mirror)
		}
	}
	return rounds
}

// orient puts the right one of a pair at home; see Pairings.
func orient(a, b int) Match {
	lo, hi := min(a, b), max(a, b)
	if (lo+hi)%2 == 1 {
		return Match{Home: lo, Away: hi}
	}
	return Match{Home: hi, Away: lo}
}

// Dates returns count dates: the first allowed day on or after start, then
// each the first allowed day at least intervalDays after the one before.
func Dates(start models.Date, intervalDays, count int, skipWeekdays []time.Weekday, skipDates []models.Date) ([]models.Date, error) {
	var skipDay [7]bool
	for _, d := range skipWeekdays {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("%w: weekday %d out of range", ErrInvalid, d)
		}
		skipDay[d] = true
	}
	if !slices.Contains(skipDay[:], false) {
		return nil, fmt.Errorf("%w: every weekday is a rest day", ErrInvalid)
	}
	skip := make(map[time.Time]bool, len(skipDates))
	for _, d := range skipDates {
		skip[d.Time()] = true
	}
	// Each run of rest days is at most 6 weekdays plus the listed dates, so
	// this bound is never reached; it only guards the loop.
	maxShift := 7 * (len(skipDates) + 2)
	out := make([]models.Date, 0, count)
	next := start.Time()
	for range count {
		shifted := 0
		for skipDay[next.Weekday()] || skip[next] {
			next = next.AddDate(0, 0, 1)
			if shifted++; shifted > maxShift {
				return nil, fmt.Errorf("%w: no allowed day after %s", ErrInvalid, next.Format(time.DateOnly))
			}
		}
		if next.Year() > 9999 {
			return nil, fmt.Errorf("%w: the schedule runs past the year 9999", ErrInvalid)
		}
		out = append(out, models.DateOf(next))
		next = next.AddDate(0, 0, intervalDays)
	}
	return out, nil
}
