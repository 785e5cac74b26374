package flask

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/osms/sports-service/legacy/flask/schedule"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// scheduleRequest is the body of POST /schedule. Exactly one of Teams,
// PlayerIDs and OfficialIDs names the participants. Dates are strings so that
// a bad one is reported with its field's location.
type scheduleRequest struct {
	Teams       []string `json:"teams"`
	PlayerIDs   []int64  `json:"player_ids"`
	OfficialIDs []int64  `json:"official_ids"`
	StartDate   string   `json:"start_date"`
	calendarInput
}

// calendarInput are the settings both endpoints share.
type calendarInput struct {
	IntervalDays     *int     `json:"interval_days"` // default 7: a weekly fixture list
	DoubleRoundRobin bool     `json:"double_round_robin"`
	SkipWeekdays     []string `json:"skip_weekdays"`
	SkipDates        []string `json:"skip_dates"`
}

// DefaultIntervalDays is used when interval_days is absent.
const DefaultIntervalDays = 7

// Team is a participant as the response shows it.
type Team struct {
	Name       string `json:"name"`
	PlayerID   int64  `json:"player_id,omitempty"`
	OfficialID int64  `json:"official_id,omitempty"`
}

// MatchOut is one fixture of a response.
type MatchOut struct {
	Home       string `json:"home"`
	Away       string `json:"away"`
	OfficialID int64  `json:"official_id,omitempty"`
}

// RoundOut is one round of a response.
type RoundOut struct {
	Round   int         `json:"round"`
	Date    models.Date `json:"date"`
	Matches []MatchOut  `json:"matches"`
	Bye     string      `json:"bye,omitempty"`
}

// ScheduleResponse is the answer of both schedule endpoints.
type ScheduleResponse struct {
	Teams            []Team     `json:"teams"`
	DoubleRoundRobin bool       `json:"double_round_robin"`
	IntervalDays     int        `json:"interval_days"`
	Rounds           []RoundOut `json:"rounds"`
	// Game, DateEnd and WithinGameDates are set by the game endpoint only.
	GameID          int64        `json:"game_id,omitempty"`
	GameDateEnd     *models.Date `json:"game_date_end,omitempty"`
	WithinGameDates *bool        `json:"within_game_dates,omitempty"`
}

func (a *App) scheduleTeams(w http.ResponseWriter, r *http.Request) {
	var req scheduleRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	var errs fieldErrors
	opts := parseCalendar(req.calendarInput, "body", &errs)
	start, err := models.ParseDate(req.StartDate)
	switch {
	case req.StartDate == "":
		errs.add("body.start_date", "is required")
	case err != nil:
		errs.add("body.start_date", err.Error())
	}
	opts.Start = start
	checkParticipants(req, &errs)
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed", errs...)
		return
	}
	teams, err := a.resolveTeams(r, req, &errs)
	if err != nil {
		a.storeFailure(w, r, err)
		return
	}
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed", errs...)
		return
	}
	opts.Teams = len(teams)
	resp, ok := build(w, opts, teams, nil, "body.start_date")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, "application/json", resp)
}

// scheduleGame lays out a round robin of the players enrolled in a stored game
// (players whose game_id is the game's), from the game's start date, with the
// game's officials assigned to the matches in rotation. A game is the event;
// its players are the participants. Whether the rounds end by the game's
// end date is reported, not enforced: the caller picks a shorter interval or
// accepts the overrun.
func (a *App) scheduleGame(w http.ResponseWriter, r *http.Request) {
	var errs fieldErrors
	gameID, err := strconv.ParseInt(r.PathValue("game_id"), 10, 64)
	if err != nil || gameID < models.MinID || gameID > models.MaxID {
		errs.add("path.game_id", fmt.Sprintf("must be an integer from %d to %d", models.MinID, int64(models.MaxID)))
	}
	in, ok := calendarFromQuery(r, &errs)
	opts := parseCalendar(in, "query", &errs)
	if !ok || len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed", errs...)
		return
	}
	game, err := a.store.GetGame(r.Context(), gameID)
	if errors.Is(err, repository.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("game %d does not exist", gameID))
		return
	}
	if err != nil {
		a.storeFailure(w, r, err)
		return
	}
	var teams []Team
	// The repository has no filter by game, so this reads every player once;
	// fine for an admin tool over a club-sized table.
	err = a.store.ListPlayers(r.Context(), repository.ListQuery{}, func(p models.Player) error {
		if p.GameID != nil && *p.GameID == gameID {
			if len(teams) == schedule.MaxTeams {
				return errTooManyTeams
			}
			teams = append(teams, Team{Name: teamName(p.FirstName, p.LastName, p.PlayerID), PlayerID: p.PlayerID})
		}
		return nil
	})
	if errors.Is(err, errTooManyTeams) || (err == nil && len(teams) < schedule.MinTeams) {
		has := strconv.Itoa(len(teams))
		if err != nil {
			has = "more"
		}
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed", fieldDetail{
			Location: "path.game_id",
			Message:  fmt.Sprintf("a schedule needs %d to %d players in the game; game %d has %s", schedule.MinTeams, schedule.MaxTeams, gameID, has),
		})
		return
	}
	if err != nil {
		a.storeFailure(w, r, err)
		return
	}
	opts.Start = game.DateStart
	opts.Teams = len(teams)
	resp, ok := build(w, opts, teams, game.Officials, "path.game_id")
	if !ok {
		return
	}
	last := resp.Rounds[len(resp.Rounds)-1].Date
	within := !last.After(game.DateEnd)
	resp.GameID, resp.GameDateEnd, resp.WithinGameDates = game.GameID, &game.DateEnd, &within
	writeJSON(w, http.StatusOK, "application/json", resp)
}

var errTooManyTeams = errors.New("too many teams")

// build runs the scheduler and turns indexes into names; officials, when
// given, are assigned to matches in turn so that each referees about as
// often as the others and none twice in a round while there are enough.
func build(w http.ResponseWriter, opts schedule.Options, teams []Team, officials []int64, location string) (ScheduleResponse, bool) {
	rounds, err := schedule.Build(opts)
	if err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed", fieldDetail{Location: location, Message: err.Error()})
		return ScheduleResponse{}, false
	}
	resp := ScheduleResponse{Teams: teams, DoubleRoundRobin: opts.Double, IntervalDays: opts.IntervalDays, Rounds: make([]RoundOut, len(rounds))}
	n := 0
	for i, rd := range rounds {
		out := RoundOut{Round: rd.Number, Date: rd.Date, Matches: make([]MatchOut, len(rd.Matches))}
		for j, m := range rd.Matches {
			out.Matches[j] = MatchOut{Home: teams[m.Home].Name, Away: teams[m.Away].Name}
			if len(officials) > 0 {
				out.Matches[j].OfficialID = officials[n%len(officials)]
				n++
			}
		}
		if rd.Bye >= 0 {
			out.Bye = teams[rd.Bye].Name
		}
		resp.Rounds[i] = out
	}
	return resp, true
}

// checkParticipants checks the participant lists for what needs no lookup.
func checkParticipants(req scheduleRequest, errs *fieldErrors) {
	given := 0
	for _, l := range []int{len(req.Teams), len(req.PlayerIDs), len(req.OfficialIDs)} {
		if l > 0 {
			given++
		}
	}
	switch {
	case given == 0:
		errs.add("body.teams", "is required (or player_ids, or official_ids)")
		return
	case given > 1:
		errs.add("body", "give only one of teams, player_ids and official_ids")
		return
	}
	countOK := func(field string, n int) bool {
		if n < schedule.MinTeams || n > schedule.MaxTeams {
			errs.add("body."+field, fmt.Sprintf("must list %d to %d teams, got %d", schedule.MinTeams, schedule.MaxTeams, n))
			return false
		}
		return true
	}
	switch {
	case len(req.Teams) > 0 && countOK("teams", len(req.Teams)):
		seen := map[string]int{}
		for i, name := range req.Teams {
			name = strings.TrimSpace(name)
			loc := fmt.Sprintf("body.teams[%d]", i)
			if n := len([]rune(name)); n < 1 || n > models.MaxName {
				errs.add(loc, fmt.Sprintf("must be 1 to %d characters long", models.MaxName))
				continue
			}
			key := strings.ToLower(name)
			if j, dup := seen[key]; dup {
				errs.add(loc, fmt.Sprintf("duplicates teams[%d]", j))
				continue
			}
			seen[key] = i
		}
	case len(req.PlayerIDs) > 0 && countOK("player_ids", len(req.PlayerIDs)):
		checkIDs("body.player_ids", req.PlayerIDs, errs)
	case len(req.OfficialIDs) > 0 && countOK("official_ids", len(req.OfficialIDs)):
		checkIDs("body.official_ids", req.OfficialIDs, errs)
	}
}

func checkIDs(location string, ids []int64, errs *fieldErrors) {
	seen := map[int64]int{}
	for i, id := range ids {
		loc := fmt.Sprintf("%s[%d]", location, i)
		if id < models.MinID || id > models.MaxID {
			errs.add(loc, fmt.Sprintf("must be an integer from %d to %d", models.MinID, int64(models.MaxID)))
			continue
		}
		if j, dup := seen[id]; dup {
			errs.add(loc, fmt.Sprintf("duplicates [%d]", j))
			continue
		}
		seen[id] = i
	}
}

// resolveTeams turns the request's participants into teams, reading stored
// players or officials; a missing one is an input error at its index.
func (a *App) resolveTeams(r *http.Request, req scheduleRequest, errs *fieldErrors) ([]Team, error) {
	ctx := r.Context()
	teams := make([]Team, 0, max(len(req.Teams), len(req.PlayerIDs), len(req.OfficialIDs)))
	for _, name := range req.Teams {
		teams = append(teams, Team{Name: strings.TrimSpace(name)})
	}
	for i, id := range req.PlayerIDs {
		p, err := a.store.GetPlayer(ctx, id)
		if errors.Is(err, repository.ErrNotFound) {
			errs.add(fmt.Sprintf("body.player_ids[%d]", i), fmt.Sprintf("player %d does not exist", id))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get player %d: %w", id, err)
		}
		teams = append(teams, Team{Name: teamName(p.FirstName, p.LastName, p.PlayerID), PlayerID: id})
	}
	for i, id := range req.OfficialIDs {
		o, err := a.store.GetOfficial(ctx, id)
		if errors.Is(err, repository.ErrNotFound) {
			errs.add(fmt.Sprintf("body.official_ids[%d]", i), fmt.Sprintf("official %d does not exist", id))
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get official %d: %w", id, err)
		}
		teams = append(teams, Team{Name: teamName(o.FirstName, o.LastName, o.OfficialID), OfficialID: id})
	}
	return teams, nil
}

// weekdays accepts English day names and their three-letter forms.
var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for name, d := range weekdayNames {
		if s == name || (len(s) == 3 && strings.HasPrefix(name, s)) {
			return d, true
		}
	}
	return 0, false
}

// parseCalendar checks the calendar settings; where is "body" or "query".
func parseCalendar(in calendarInput, where string, errs *fieldErrors) schedule.Options {
	o := schedule.Options{Double: in.DoubleRoundRobin, IntervalDays: DefaultIntervalDays}
	if in.IntervalDays != nil {
		o.IntervalDays = *in.IntervalDays
		if o.IntervalDays < 1 || o.IntervalDays > schedule.MaxIntervalDays {
			errs.add(where+".interval_days", fmt.Sprintf("must be from 1 to %d", schedule.MaxIntervalDays))
		}
	}
	rest := map[time.Weekday]bool{}
	for i, s := range in.SkipWeekdays {
		d, ok := parseWeekday(s)
		if !ok {
			errs.add(fmt.Sprintf("%s.skip_weekdays[%d]", where, i), fmt.Sprintf("%q is not a weekday name such as monday or mon", s))
			continue
		}
		if !rest[d] {
			rest[d] = true
			o.SkipWeekdays = append(o.SkipWeekdays, d)
		}
	}
	if len(rest) == 7 {
		errs.add(where+".skip_weekdays", "must leave at least one weekday to play on")
	}
	if len(in.SkipDates) > schedule.MaxSkipDates {
		errs.add(where+".skip_dates", fmt.Sprintf("must have at most %d items", schedule.MaxSkipDates))
		return o
	}
	for i, s := range in.SkipDates {
		d, err := models.ParseDate(s)
		if err != nil {
			errs.add(fmt.Sprintf("%s.skip_dates[%d]", where, i), err.Error())
			continue
		}
		o.SkipDates = append(o.SkipDates, d)
	}
	return o
}

// calendarFromQuery reads ?interval_days=1&double_round_robin=true&
// skip_weekdays=sat,sun&skip_dates=2024-12-25 (lists comma-separated or repeated).
func calendarFromQuery(r *http.Request, errs *fieldErrors) (calendarInput, bool) {
	q := r.URL.Query()
	var in calendarInput
	ok := true
	known := map[string]bool{"interval_days": true, "double_round_robin": true, "skip_weekdays": true, "skip_dates": true}
	for name := range q {
		if !known[name] {
			errs.add("query."+name, "unknown parameter")
			ok = false
		}
	}
	if s := q.Get("interval_days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			errs.add("query.interval_days", "must be a whole number")
			ok = false
		}
		in.IntervalDays = &n
	}
	if s := q.Get("double_round_robin"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			errs.add("query.double_round_robin", "must be true or false")
			ok = false
		}
		in.DoubleRoundRobin = b
	}
	split := func(values []string) []string {
		var out []string
		for _, v := range values {
			out = append(out, strings.Split(v, ",")...)
		}
		return out
	}
	in.SkipWeekdays = split(q["skip_weekdays"])
	in.SkipDates = split(q["skip_dates"])
	return in, ok
}

// decodeJSON reads one JSON object into dst and answers the client itself
// when it cannot: 415 for another media type, 413 past MaxBodyBytes, 400 for
// malformed JSON, 422 naming the field for a wrong type or unknown field.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeProblem(w, http.StatusUnsupportedMediaType, "the body must be application/json")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	} else if err == nil {
		if _, tokErr := dec.Token(); tokErr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body must be at most %d bytes", maxErr.Limit))
	case errors.As(err, &typeErr):
		loc := "body"
		if typeErr.Field != "" {
			loc += "." + typeErr.Field
		}
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed",
			fieldDetail{Location: loc, Message: fmt.Sprintf("expected %s, got %s", jsonType(typeErr.Type.Kind().String()), typeErr.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this; its message is stable.
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeProblem(w, http.StatusUnprocessableEntity, "validation failed", fieldDetail{Location: "body." + name, Message: "unknown field"})
	default:
		writeProblem(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
	}
	return false
}

// jsonType names a Go kind the way a JSON client thinks of it.
func jsonType(kind string) string {
	switch kind {
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return kind
}
