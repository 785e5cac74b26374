// Package fakestore is an in-memory stand-in for repository.Store for the
// legacy applications' unit tests: same method set, same errors, same
// validation (the models' Check rules), no database. Only tests import it;
// the tests against the real store live beside them.
package fakestore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// Store holds records in tables guarded by one mutex.
type Store struct {
	mu        sync.Mutex
	logins    table[login]
	officials table[models.Official]
	players   table[models.Player]
	games     table[models.Game]
	// Today fixes the date the Check rules compare with.
	Today models.Date
	// Fail, when set, is returned by every call: to test ErrUnavailable.
	Fail error
}

type login struct {
	models.Login
	password string // plaintext: this is a test double, never a real store
}

// New returns an empty store.
func New() *Store {
	return &Store{
		logins: table[login]{kind: "login", rows: map[int64]login{},
			id: func(l login) int64 { return l.LoginID }, names: func(l login) []string { return []string{l.Username} }},
		officials: table[models.Official]{kind: "official", rows: map[int64]models.Official{},
			id: func(o models.Official) int64 { return o.OfficialID }, names: func(o models.Official) []string { return []string{o.FirstName, o.LastName} }},
		players: table[models.Player]{kind: "player", rows: map[int64]models.Player{},
			id: func(p models.Player) int64 { return p.PlayerID }, names: func(p models.Player) []string { return []string{p.FirstName, p.LastName} }},
		games: table[models.Game]{kind: "game", rows: map[int64]models.Game{},
			id: func(g models.Game) int64 { return g.GameID }, names: func(g models.Game) []string { return []string{g.Name} }},
		Today: models.Today(),
	}
}

// table is one collection.
type table[M any] struct {
	kind  string
	rows  map[int64]M
	id    func(M) int64
	names func(M) []string // what Search matches
}

func (t *table[M]) get(id int64) (M, error) {
	m, ok := t.rows[id]
	if !ok {
		return m, &repository.NotFoundError{Kind: t.kind, ID: id}
	}
	return m, nil
}

func (t *table[M]) insert(m M, check error) (M, error) {
	if check != nil {
		return m, check
	}
	if _, ok := t.rows[t.id(m)]; ok {
		return m, &repository.ConflictError{Kind: t.kind, Field: t.kind + "_id", Value: t.id(m)}
	}
	t.rows[t.id(m)] = m
	return m, nil
}

func (t *table[M]) update(id int64, apply func(M) M, check func(M) error) (M, error) {
	m, err := t.get(id)
	if err != nil {
		return m, err
	}
	m = apply(m)
	if err := check(m); err != nil {
		return m, err
	}
	t.rows[id] = m
	return m, nil
}

func (t *table[M]) remove(id int64, referrers []string) error {
	if _, err := t.get(id); err != nil {
		return err
	}
	if len(referrers) > 0 {
		return &repository.InUseError{Kind: t.kind, ID: id, Referrers: referrers}
	}
	delete(t.rows, id)
	return nil
}

func (t *table[M]) list(q repository.ListQuery, fn func(M) error) error {
	var rows []M
	for _, v := range t.rows {
		if t.id(v) <= q.After {
			continue
		}
		if q.Search != "" && !slices.ContainsFunc(t.names(v), func(n string) bool {
			return strings.Contains(strings.ToLower(n), strings.ToLower(q.Search))
		}) {
			continue
		}
		rows = append(rows, v)
	}
	slices.SortFunc(rows, func(a, b M) int { return cmp.Compare(t.id(a), t.id(b)) })
	if q.Limit > 0 && len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	for _, v := range rows {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// locked runs f under the lock, or fails with Fail.
func locked[T any](s *Store, f func() (T, error)) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		var zero T
		return zero, s.Fail
	}
	return f()
}

func lockedErr(s *Store, f func() error) error {
	_, err := locked(s, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// CreateLogin stores a new login.
func (s *Store) CreateLogin(_ context.Context, in models.LoginCreate) (models.Login, error) {
	return locked(s, func() (models.Login, error) {
		if _, taken := s.byUsername(in.Username); taken {
			return models.Login{}, &repository.ConflictError{Kind: "login", Field: "username", Value: in.Username}
		}
		role := in.Role
		if role != models.RoleAdmin {
			role = models.RoleViewer
		}
		l, err := s.logins.insert(login{Login: models.Login{LoginID: in.LoginID, Username: in.Username, Role: role}, password: in.Password}, models.AsError(in.Check()))
		return l.Login, err
	})
}

// GetLogin returns one login.
func (s *Store) GetLogin(_ context.Context, id int64) (models.Login, error) {
	return locked(s, func() (models.Login, error) {
		l, err := s.logins.get(id)
		return l.Login, err
	})
}

// ListLogins calls fn for a page of logins.
func (s *Store) ListLogins(_ context.Context, q repository.ListQuery, fn func(models.Login) error) error {
	return lockedErr(s, func() error { return s.logins.list(q, func(l login) error { return fn(l.Login) }) })
}

// DeleteLogin removes a login.
func (s *Store) DeleteLogin(_ context.Context, id int64) error {
	return lockedErr(s, func() error { return s.logins.remove(id, nil) })
}

func (s *Store) byUsername(name string) (login, bool) {
	for _, l := range s.logins.rows {
		if l.Username == name {
			return l, true
		}
	}
	return login{}, false
}

// ChangePassword sets a new password when the current one matches.
func (s *Store) ChangePassword(_ context.Context, in models.LoginUpdate) (models.Login, error) {
	return locked(s, func() (models.Login, error) {
		if err := models.AsError(in.Check()); err != nil {
			return models.Login{}, err
		}
		l, ok := s.byUsername(in.Username)
		if !ok || l.password != in.Password {
			return models.Login{}, repository.ErrBadCredentials
		}
		l.password = in.NewPassword
		s.logins.rows[l.LoginID] = l
		return l.Login, nil
	})
}

// VerifyLogin checks a username and password.
func (s *Store) VerifyLogin(_ context.Context, username, password string) (models.Login, error) {
	return locked(s, func() (models.Login, error) {
		l, ok := s.byUsername(username)
		if !ok || l.password != password {
			return models.Login{}, repository.ErrBadCredentials
		}
		return l.Login, nil
	})
}

// CreateOfficial stores a new official.
func (s *Store) CreateOfficial(_ context.Context, o models.Official) (models.Official, error) {
	return locked(s, func() (models.Official, error) { return s.officials.insert(o, models.AsError(o.Check(s.Today))) })
}

// GetOfficial returns one official.
func (s *Store) GetOfficial(_ context.Context, id int64) (models.Official, error) {
	return locked(s, func() (models.Official, error) { return s.officials.get(id) })
}

// ListOfficials calls fn for a page of officials.
func (s *Store) ListOfficials(_ context.Context, q repository.ListQuery, fn func(models.Official) error) error {
	return lockedErr(s, func() error { return s.officials.list(q, fn) })
}

// UpdateOfficial applies a patch.
func (s *Store) UpdateOfficial(_ context.Context, id int64, p models.OfficialPatch) (models.Official, error) {
	return locked(s, func() (models.Official, error) {
		return s.officials.update(id, p.Apply, func(o models.Official) error { return models.AsError(o.Check(s.Today)) })
	})
}

// DeleteOfficial removes an official no game refers to.
func (s *Store) DeleteOfficial(_ context.Context, id int64) error {
	return lockedErr(s, func() error {
		var refs []string
		for _, g := range s.games.rows {
			if slices.Contains(g.Officials, id) {
				refs = append(refs, fmt.Sprintf("game %d", g.GameID))
			}
		}
		return s.officials.remove(id, refs)
	})
}

func (s *Store) checkPlayer(p models.Player) error {
	fields := p.Check(s.Today)
	if p.GameID != nil {
		if _, ok := s.games.rows[*p.GameID]; !ok {
			fields = append(fields, models.FieldError{Field: "game_id", Message: fmt.Sprintf("game %d does not exist", *p.GameID)})
		}
	}
	return models.AsError(fields)
}

// CreatePlayer stores a new player.
func (s *Store) CreatePlayer(_ context.Context, p models.Player) (models.Player, error) {
	return locked(s, func() (models.Player, error) { return s.players.insert(p, s.checkPlayer(p)) })
}

// GetPlayer returns one player.
func (s *Store) GetPlayer(_ context.Context, id int64) (models.Player, error) {
	return locked(s, func() (models.Player, error) { return s.players.get(id) })
}

// ListPlayers calls fn for a page of players.
func (s *Store) ListPlayers(_ context.Context, q repository.ListQuery, fn func(models.Player) error) error {
	return lockedErr(s, func() error { return s.players.list(q, fn) })
}

// UpdatePlayer applies a patch.
func (s *Store) UpdatePlayer(_ context.Context, id int64, p models.PlayerPatch) (models.Player, error) {
	return locked(s, func() (models.Player, error) { return s.players.update(id, p.Apply, s.checkPlayer) })
}

// DeletePlayer removes a player.
func (s *Store) DeletePlayer(_ context.Context, id int64) error {
	return lockedErr(s, func() error { return s.players.remove(id, nil) })
}

func (s *Store) checkGame(g models.Game) error {
	fields := g.Check(s.Today)
	for i, id := range g.Officials {
		if _, ok := s.officials.rows[id]; !ok {
			fields = append(fields, models.FieldError{Field: fmt.Sprintf("officials[%d]", i), Message: fmt.Sprintf("official %d does not exist", id)})
		}
	}
	return models.AsError(fields)
}

// CreateGame stores a new game.
func (s *Store) CreateGame(_ context.Context, g models.Game) (models.Game, error) {
	return locked(s, func() (models.Game, error) { return s.games.insert(g, s.checkGame(g)) })
}

// GetGame returns one game.
func (s *Store) GetGame(_ context.Context, id int64) (models.Game, error) {
	return locked(s, func() (models.Game, error) { return s.games.get(id) })
}

// ListGames calls fn for a page of games.
func (s *Store) ListGames(_ context.Context, q repository.ListQuery, fn func(models.Game) error) error {
	return lockedErr(s, func() error { return s.games.list(q, fn) })
}

// UpdateGame applies a patch.
func (s *Store) UpdateGame(_ context.Context, id int64, p models.GamePatch) (models.Game, error) {
	return locked(s, func() (models.Game, error) { return s.games.update(id, p.Apply, s.checkGame) })
}

// DeleteGame removes a game no player takes part in.
func (s *Store) DeleteGame(_ context.Context, id int64) error {
	return lockedErr(s, func() error {
		var refs []string
		for _, p := range s.players.rows {
			if p.GameID != nil && *p.GameID == id {
				refs = append(refs, fmt.Sprintf("player %d", p.PlayerID))
			}
		}
		return s.games.remove(id, refs)
	})
}
