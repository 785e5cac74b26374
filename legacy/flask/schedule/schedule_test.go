package schedule

import (
	"errors"
	"testing"
	"time"

	"github.com/osms/sports-service/models"
)

// checkInvariants verifies every property a round robin of o must have and
// reports the first broken one.
func checkInvariants(t *testing.T, o Options, rounds []Round) {
	t.Helper()
	n := o.Teams
	cycle := n - 1
	if n%2 == 1 {
		cycle = n
	}
	wantRounds := cycle
	if o.Double {
		wantRounds *= 2
	}
	if len(rounds) != wantRounds {
		t.Fatalf("n=%d double=%v: %d rounds, want %d", n, o.Double, len(rounds), wantRounds)
	}
	meetings := map[[2]int]int{} // ordered (home, away) -> count
	home := make([]int, n)
	away := make([]int, n)
	byes := make([]int, n)
	skipDay := map[time.Weekday]bool{}
	for _, d := range o.SkipWeekdays {
		skipDay[d] = true
	}
	skipDate := map[models.Date]bool{}
	for _, d := range o.SkipDates {
		skipDate[d] = true
	}
	for i, r := range rounds {
		if r.Number != i+1 {
			t.Fatalf("round %d numbered %d", i+1, r.Number)
		}
		seen := make([]bool, n)
		mark := func(team int) {
			if team < 0 || team >= n {
				t.Fatalf("round %d: team %d out of range", r.Number, team)
			}
			if seen[team] {
				t.Fatalf("n=%d round %d: team %d appears twice", n, r.Number, team)
			}
			seen[team] = true
		}
		for _, m := range r.Matches {
			mark(m.Home)
			mark(m.Away)
			meetings[[2]int{m.Home, m.Away}]++
			home[m.Home]++
			away[m.Away]++
		}
		if n%2 == 1 {
			mark(r.Bye)
			byes[r.Bye]++
		} else if r.Bye != -1 {
			t.Fatalf("n=%d even but round %d has bye %d", n, r.Number, r.Bye)
		}
		for team, ok := range seen {
			if !ok {
				t.Fatalf("n=%d round %d: team %d neither plays nor rests", n, r.Number, team)
			}
		}
		if !r.Date.Valid() {
			continue // Pairings alone: no dates
		}
		if r.Date.Before(o.Start) {
			t.Fatalf("round %d on %s before start %s", r.Number, r.Date, o.Start)
		}
		if skipDay[r.Date.Time().Weekday()] || skipDate[r.Date] {
			t.Fatalf("round %d on rest day %s", r.Number, r.Date)
		}
		if i > 0 {
			gap := r.Date.Time().Sub(rounds[i-1].Date.Time())
			if gap < time.Duration(o.IntervalDays)*24*time.Hour {
				t.Fatalf("round %d on %s only %v after the previous", r.Number, r.Date, gap)
			}
		}
	}
	for a := range n {
		for b := a + 1; b < n; b++ {
			ab, ba := meetings[[2]int{a, b}], meetings[[2]int{b, a}]
			if o.Double && (ab != 1 || ba != 1) {
				t.Fatalf("n=%d double: %d-%d met %d+%d times, want once each way", n, a, b, ab, ba)
			}
			if !o.Double && ab+ba != 1 {
				t.Fatalf("n=%d: %d and %d met %d times", n, a, b, ab+ba)
			}
		}
		diff := home[a] - away[a]
		if o.Double && diff != 0 {
			t.Fatalf("n=%d double: team %d home %d away %d", n, a, home[a], away[a])
		}
		if diff < -1 || diff > 1 {
			t.Fatalf("n=%d: team %d home %d away %d", n, a, home[a], away[a])
		}
		wantByes := 0
		if n%2 == 1 {
			wantByes = 1
			if o.Double {
				wantByes = 2
			}
		}
		if byes[a] != wantByes {
			t.Fatalf("n=%d: team %d rests %d times, want %d", n, a, byes[a], wantByes)
		}
	}
}

func TestPairingsProperties(t *testing.T) {
	for n := MinTeams; n <= 64; n++ {
		for _, double := range []bool{false, true} {
			o := Options{Teams: n, Double: double}
			checkInvariants(t, o, Pairings(n, double))
		}
	}
}

func TestBuildPropertiesWithCalendar(t *testing.T) {
	start := models.NewDate(2024, time.February, 26) // a Monday
	calendars := []struct {
		name     string
		interval int
		weekdays []time.Weekday
		dates    []models.Date
	}{
		{"daily", 1, nil, nil},
		{"weekly", 7, nil, nil},
		{"weekdays only", 1, []time.Weekday{time.Saturday, time.Sunday}, nil},
		{"every 3 days, holidays", 3, []time.Weekday{time.Wednesday}, []models.Date{
			models.NewDate(2024, time.February, 29), models.NewDate(2024, time.March, 1), models.NewDate(2024, time.March, 2),
		}},
		{"only sundays", 1, []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}, nil},
	}
	for _, c := range calendars {
		t.Run(c.name, func(t *testing.T) {
			for n := MinTeams; n <= 64; n++ {
				for _, double := range []bool{false, true} {
					o := Options{Teams: n, Double: double, Start: start, IntervalDays: c.interval, SkipWeekdays: c.weekdays, SkipDates: c.dates}
					rounds, err := Build(o)
					if err != nil {
						t.Fatalf("n=%d: %v", n, err)
					}
					checkInvariants(t, o, rounds)
				}
			}
		})
	}
}

func TestPairingsExample(t *testing.T) {
	// Four teams: three rounds of two matches, the fixed team 3 alternating.
	got := Pairings(4, false)
	want := [][]Match{
		{{Home: 3, Away: 0}, {Home: 1, Away: 2}},
		{{Home: 1, Away: 3}, {Home: 2, Away: 0}},
		{{Home: 3, Away: 2}, {Home: 0, Away: 1}},
	}
	for i, r := range got {
		if len(r.Matches) != len(want[i]) {
			t.Fatalf("round %d: %v, want %v", i+1, r.Matches, want[i])
		}
		for j := range r.Matches {
			if r.Matches[j] != want[i][j] {
				t.Fatalf("round %d: %v, want %v", i+1, r.Matches, want[i])
			}
		}
	}
}

func TestDatesSkipAndInterval(t *testing.T) {
	start := models.NewDate(2024, time.March, 1) // a Friday
	got, err := Dates(start, 2, 4, []time.Weekday{time.Saturday, time.Sunday}, []models.Date{models.NewDate(2024, time.March, 6)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2024-03-01", "2024-03-04", "2024-03-07", "2024-03-11"}
	for i, d := range got {
		if d.String() != want[i] {
			t.Fatalf("dates %v, want %v", got, want)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	start := models.NewDate(2024, time.March, 1)
	all := []time.Weekday{0, 1, 2, 3, 4, 5, 6}
	cases := []struct {
		name string
		o    Options
	}{
		{"one team", Options{Teams: 1, Start: start, IntervalDays: 1}},
		{"too many teams", Options{Teams: MaxTeams + 1, Start: start, IntervalDays: 1}},
		{"no start", Options{Teams: 4, IntervalDays: 1}},
		{"zero interval", Options{Teams: 4, Start: start}},
		{"interval too long", Options{Teams: 4, Start: start, IntervalDays: MaxIntervalDays + 1}},
		{"every day a rest day", Options{Teams: 4, Start: start, IntervalDays: 1, SkipWeekdays: all}},
		{"bad weekday", Options{Teams: 4, Start: start, IntervalDays: 1, SkipWeekdays: []time.Weekday{7}}},
		{"past 9999", Options{Teams: 200, Double: true, Start: models.NewDate(9990, 1, 1), IntervalDays: 365}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Build(c.o); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Build: %v, want ErrInvalid", err)
			}
		})
	}
}

// FuzzSchedule checks the invariants for arbitrary sizes and calendars: Build
// either refuses the input with ErrInvalid or returns a valid tournament.
func FuzzSchedule(f *testing.F) {
	f.Add(uint16(2), false, uint16(1), uint8(0), int32(0))
	f.Add(uint16(5), true, uint16(7), uint8(0b1000001), int32(19000))
	f.Add(uint16(64), false, uint16(3), uint8(0b0111110), int32(-5000))
	f.Add(uint16(257), false, uint16(1), uint8(0), int32(0))
	f.Add(uint16(9), true, uint16(0), uint8(0x7f), int32(2900000))
	f.Fuzz(func(t *testing.T, teams uint16, double bool, interval uint16, restMask uint8, startDay int32) {
		if teams > 300 {
			t.Skip("sizes far past MaxTeams only repeat the rejection")
		}
		var weekdays []time.Weekday
		for d := range 7 {
			if restMask&(1<<d) != 0 {
				weekdays = append(weekdays, time.Weekday(d))
			}
		}
		start := models.DateOf(time.Unix(0, 0).AddDate(0, 0, int(startDay)))
		o := Options{Teams: int(teams), Double: double, Start: start, IntervalDays: int(interval), SkipWeekdays: weekdays,
			SkipDates: []models.Date{start, models.DateOf(start.Time().AddDate(0, 0, 1))}}
		rounds, err := Build(o)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Build: %v does not wrap ErrInvalid", err)
			}
			return
		}
		checkInvariants(t, o, rounds)
	})
}
