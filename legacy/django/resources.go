package django

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/osms/sports-service/legacy/django/forms"
	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// field describes one input of a form.
type field struct {
	Name         string
	Label        string
	Type         string // text, number, date, password
	Help         string
	Autocomplete string
	// Key is true for the id: typed when adding, shown but fixed when changing.
	Key bool
}

// row is one line of a list.
type row struct {
	ID    int64
	Cells []string
}

// resource is one kind of record the admin site manages. The closures bind
// the generic pages to the store's typed methods.
type resource struct {
	slug, singular, plural string
	searchHint             string
	columns                []string
	addFields              []field
	changeFields           []field
	list                   func(ctx context.Context, q repository.ListQuery, add func(row)) error
	// load returns a stored record as form values and a short description.
	load   func(ctx context.Context, id int64) (url.Values, string, error)
	create func(ctx context.Context, form url.Values) (int64, []models.FieldError, error)
	update func(ctx context.Context, id int64, form url.Values) ([]models.FieldError, error)
	remove func(ctx context.Context, id int64) error
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// fieldErrors turns the store's answer about a record the user can correct
// into field errors; other errors come back as they are.
func fieldErrors(err error) ([]models.FieldError, error) {
	var ve *models.ValidationError
	var ce *repository.ConflictError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &ve):
		return ve.Fields, nil
	case errors.As(err, &ce):
		return []models.FieldError{{Field: ce.Field, Message: fmt.Sprintf("%v is already taken", ce.Value)}}, nil
	case errors.Is(err, repository.ErrBadCredentials):
		return []models.FieldError{{Field: "password", Message: "is not the current password"}}, nil
	}
	return nil, err
}

var personFields = []field{
	{Name: "fname", Label: "First name", Type: "text"},
	{Name: "lname", Label: "Last name", Type: "text"},
	{Name: "age", Label: "Age", Type: "number"},
	{Name: "birthday", Label: "Birthday", Type: "date", Help: "YYYY-MM-DD, not in the future"},
	{Name: "date_started", Label: "Date started", Type: "date", Help: "YYYY-MM-DD, not before the birthday"},
}

func personValues(first, last string, age int, birthday, started models.Date) url.Values {
	return url.Values{
		"fname": {first}, "lname": {last}, "age": {strconv.Itoa(age)},
		"birthday": {birthday.String()}, "date_started": {started.String()},
	}
}

func withKey(key field, rest ...field) []field { return append([]field{key}, rest...) }

func newResources(store Store, today func() models.Date) []*resource {
	return []*resource{
		playerResource(store, today),
		officialResource(store, today),
		gameResource(store, today),
		loginResource(store),
	}
}

func playerResource(store Store, today func() models.Date) *resource {
	fields := withKey(field{Name: "player_id", Label: "Player id", Type: "number", Key: true},
		append(personFields[:len(personFields):len(personFields)],
			field{Name: "game_id", Label: "Game id", Type: "number", Help: "optional: the game the player takes part in"})...)
	return &resource{
		slug: "players", singular: "player", plural: "players", searchHint: "first or last name",
		columns:   []string{"Id", "First name", "Last name", "Age", "Birthday", "Started", "Game"},
		addFields: fields, changeFields: fields,
		list: func(ctx context.Context, q repository.ListQuery, add func(row)) error {
			return store.ListPlayers(ctx, q, func(p models.Player) error {
				game := ""
				if p.GameID != nil {
					game = idString(*p.GameID)
				}
				add(row{ID: p.PlayerID, Cells: []string{idString(p.PlayerID), p.FirstName, p.LastName, strconv.Itoa(p.Age), p.Birthday.String(), p.DateStarted.String(), game}})
				return nil
			})
		},
		load: func(ctx context.Context, id int64) (url.Values, string, error) {
			p, err := store.GetPlayer(ctx, id)
			if err != nil {
				return nil, "", err
			}
			v := personValues(p.FirstName, p.LastName, p.Age, p.Birthday, p.DateStarted)
			v.Set("player_id", idString(p.PlayerID))
			if p.GameID != nil {
				v.Set("game_id", idString(*p.GameID))
			}
			return v, fmt.Sprintf("player %d (%s %s)", p.PlayerID, p.FirstName, p.LastName), nil
		},
		create: func(ctx context.Context, form url.Values) (int64, []models.FieldError, error) {
			p, errs := forms.ParsePlayerForm(form, today())
			if len(errs) > 0 {
				return 0, errs, nil
			}
			_, err := store.CreatePlayer(ctx, p)
			errs, err = fieldErrors(err)
			return p.PlayerID, errs, err
		},
		update: func(ctx context.Context, id int64, form url.Values) ([]models.FieldError, error) {
			form.Set("player_id", idString(id))
			p, errs := forms.ParsePlayerForm(form, today())
			if len(errs) > 0 {
				return errs, nil
			}
			// A blank game id removes the player from their game.
			_, err := store.UpdatePlayer(ctx, id, models.PlayerPatch{
				FirstName: &p.FirstName, LastName: &p.LastName, Age: &p.Age,
				Birthday: &p.Birthday, DateStarted: &p.DateStarted, GameID: models.SetID(p.GameID),
			})
			return fieldErrors(err)
		},
		remove: store.DeletePlayer,
	}
}

func officialResource(store Store, today func() models.Date) *resource {
	fields := withKey(field{Name: "official_id", Label: "Official id", Type: "number", Key: true}, personFields...)
	return &resource{
		slug: "officials", singular: "official", plural: "officials", searchHint: "first or last name",
		columns:   []string{"Id", "First name", "Last name", "Age", "Birthday", "Started"},
		addFields: fields, changeFields: fields,
		list: func(ctx context.Context, q repository.ListQuery, add func(row)) error {
			return store.ListOfficials(ctx, q, func(o models.Official) error {
				add(row{ID: o.OfficialID, Cells: []string{idString(o.OfficialID), o.FirstName, o.LastName, strconv.Itoa(o.Age), o.Birthday.String(), o.DateStarted.String()}})
				return nil
			})
		},
		load: func(ctx context.Context, id int64) (url.Values, string, error) {
			o, err := store.GetOfficial(ctx, id)
			if err != nil {
				return nil, "", err
			}
			v := personValues(o.FirstName, o.LastName, o.Age, o.Birthday, o.DateStarted)
			v.Set("official_id", idString(o.OfficialID))
			return v, fmt.Sprintf("official %d (%s %s)", o.OfficialID, o.FirstName, o.LastName), nil
		},
		create: func(ctx context.Context, form url.Values) (int64, []models.FieldError, error) {
			o, errs := forms.ParseOfficialForm(form, today())
			if len(errs) > 0 {
				return 0, errs, nil
			}
			_, err := store.CreateOfficial(ctx, o)
			errs, err = fieldErrors(err)
			return o.OfficialID, errs, err
		},
		update: func(ctx context.Context, id int64, form url.Values) ([]models.FieldError, error) {
			form.Set("official_id", idString(id))
			o, errs := forms.ParseOfficialForm(form, today())
			if len(errs) > 0 {
				return errs, nil
			}
			_, err := store.UpdateOfficial(ctx, id, models.OfficialPatch{
				FirstName: &o.FirstName, LastName: &o.LastName, Age: &o.Age, Birthday: &o.Birthday, DateStarted: &o.DateStarted,
			})
			return fieldErrors(err)
		},
		remove: store.DeleteOfficial,
	}
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = idString(id)
	}
	return strings.Join(s, ", ")
}

func gameResource(store Store, today func() models.Date) *resource {
	fields := []field{
		{Name: "game_id", Label: "Game id", Type: "number", Key: true},
		{Name: "name", Label: "Name", Type: "text"},
		{Name: "date_start", Label: "Start date", Type: "date", Help: "YYYY-MM-DD"},
		{Name: "date_end", Label: "End date", Type: "date", Help: "YYYY-MM-DD, not before the start"},
		{Name: "officials", Label: "Officials", Type: "text", Help: "ids of existing officials, separated by commas"},
	}
	return &resource{
		slug: "games", singular: "game", plural: "games", searchHint: "name",
		columns:   []string{"Id", "Name", "Start", "End", "Officials"},
		addFields: fields, changeFields: fields,
		list: func(ctx context.Context, q repository.ListQuery, add func(row)) error {
			return store.ListGames(ctx, q, func(g models.Game) error {
				add(row{ID: g.GameID, Cells: []string{idString(g.GameID), g.Name, g.DateStart.String(), g.DateEnd.String(), joinIDs(g.Officials)}})
				return nil
			})
		},
		load: func(ctx context.Context, id int64) (url.Values, string, error) {
			g, err := store.GetGame(ctx, id)
			if err != nil {
				return nil, "", err
			}
			v := url.Values{"game_id": {idString(g.GameID)}, "name": {g.Name}, "date_start": {g.DateStart.String()},
				"date_end": {g.DateEnd.String()}, "officials": {joinIDs(g.Officials)}}
			return v, fmt.Sprintf("game %d (%s)", g.GameID, g.Name), nil
		},
		create: func(ctx context.Context, form url.Values) (int64, []models.FieldError, error) {
			g, errs := forms.ParseGameForm(form, today())
			if len(errs) > 0 {
				return 0, errs, nil
			}
			_, err := store.CreateGame(ctx, g)
			errs, err = fieldErrors(err)
			return g.GameID, errs, err
		},
		update: func(ctx context.Context, id int64, form url.Values) ([]models.FieldError, error) {
			form.Set("game_id", idString(id))
			g, errs := forms.ParseGameForm(form, today())
			if len(errs) > 0 {
				return errs, nil
			}
			_, err := store.UpdateGame(ctx, id, models.GamePatch{Name: &g.Name, DateStart: &g.DateStart, DateEnd: &g.DateEnd, Officials: &g.Officials})
			return fieldErrors(err)
		},
		remove: store.DeleteGame,
	}
}

// loginResource: a login's password can only be changed by giving the
// current one (the store's ChangePassword asks for it, as the API does), and
// a password is never shown or put back in a form.
func loginResource(store Store) *resource {
	return &resource{
		slug: "logins", singular: "login", plural: "logins", searchHint: "username",
		columns: []string{"Id", "Username"},
		addFields: []field{
			{Name: "login_id", Label: "Login id", Type: "number", Key: true},
			{Name: "username", Label: "Username", Type: "text", Autocomplete: "off"},
			{Name: "password", Label: "Password", Type: "password", Autocomplete: "new-password",
				Help: fmt.Sprintf("%d to %d characters", models.MinPassword, models.MaxPassword)},
		},
		changeFields: []field{
			{Name: "login_id", Label: "Login id", Type: "number", Key: true},
			{Name: "username", Label: "Username", Type: "text", Key: true},
			{Name: "password", Label: "Current password", Type: "password", Autocomplete: "current-password"},
			{Name: "new_password", Label: "New password", Type: "password", Autocomplete: "new-password",
				Help: fmt.Sprintf("%d to %d characters", models.MinPassword, models.MaxPassword)},
		},
		list: func(ctx context.Context, q repository.ListQuery, add func(row)) error {
			return store.ListLogins(ctx, q, func(l models.Login) error {
				add(row{ID: l.LoginID, Cells: []string{idString(l.LoginID), l.Username}})
				return nil
			})
		},
		load: func(ctx context.Context, id int64) (url.Values, string, error) {
			l, err := store.GetLogin(ctx, id)
			if err != nil {
				return nil, "", err
			}
			return url.Values{"login_id": {idString(l.LoginID)}, "username": {l.Username}}, fmt.Sprintf("login %d (%s)", l.LoginID, l.Username), nil
		},
		create: func(ctx context.Context, form url.Values) (int64, []models.FieldError, error) {
			l, errs := forms.ParseLoginForm(form)
			if len(errs) > 0 {
				return 0, errs, nil
			}
			_, err := store.CreateLogin(ctx, l)
			errs, err = fieldErrors(err)
			return l.LoginID, errs, err
		},
		update: func(ctx context.Context, id int64, form url.Values) ([]models.FieldError, error) {
			current, err := store.GetLogin(ctx, id)
			if err != nil {
				return nil, err
			}
			form.Set("username", current.Username)
			in, errs := forms.ParsePasswordForm(form)
			if len(errs) > 0 {
				return errs, nil
			}
			_, err = store.ChangePassword(ctx, in)
			return fieldErrors(err)
		},
		remove: store.DeleteLogin,
	}
}
