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

// Store holds records in maps guarded by one mutex.
type Store struct {
	mu        sync.Mutex
	logins    map[int64]login
	officials map[int64]models.Official
	players   map[int64]models.Player
	games     map[int64]models.Game
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
		logins:    map[int64]login{},
		officials: map[int64]models.Official{},
		players:   map[int64]models.Player{},
		games:     map[int64]models.Game{},
		Today:     models.Today(),
	}
}

func (s *Store) lock() (func(), error) {
	s.mu.Lock()
	if s.Fail != nil {
		s.mu.Unlock()
		return nil, s.Fail
	}
	return s.mu.Unlock, nil
}

func notFound(kind string, id int64) error { return &repository.NotFoundError{Kind: kind, ID: id} }

func list[M any](m map[int64]M, id func(M) int64, names func(M) []string, q repository.ListQuery, fn func(M) error) error {
	var rows []M
	for _, v := range m {
		if id(v) <= q.After {
			continue
		}
		if q.Search != "" && !slices.ContainsFunc(names(v), func(n string) bool {
			return strings.Contains(strings.ToLower(n), strings.ToLower(q.Search))
		}) {
			continue
		}
		rows = append(rows, v)
	}
	slices.SortFunc(rows, func(a, b M) int { return cmp.Compare(id(a), id(b)) })
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

// CreateLogin stores a new login.
func (s *Store) CreateLogin(_ context.Context, in models.LoginCreate) (models.Login, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Login{}, err
	}
	defer unlock()
	if err := models.AsError(in.Check()); err != nil {
		return models.Login{}, err
	}
	if _, ok := s.logins[in.LoginID]; ok {
		return models.Login{}, &repository.ConflictError{Kind: "login", Field: "login_id", Value: in.LoginID}
	}
	for _, l := range s.logins {
		if l.Username == in.Username {
			return models.Login{}, &repository.ConflictError{Kind: "login", Field: "username", Value: in.Username}
		}
	}
	l := login{Login: models.Login{LoginID: in.LoginID, Username: in.Username}, password: in.Password}
	s.logins[in.LoginID] = l
	return l.Login, nil
}

// GetLogin returns one login.
func (s *Store) GetLogin(_ context.Context, id int64) (models.Login, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Login{}, err
	}
	defer unlock()
	l, ok := s.logins[id]
	if !ok {
		return models.Login{}, notFound("login", id)
	}
	return l.Login, nil
}

// ListLogins calls fn for a page of logins.
func (s *Store) ListLogins(_ context.Context, q repository.ListQuery, fn func(models.Login) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return list(s.logins, func(l login) int64 { return l.LoginID }, func(l login) []string { return []string{l.Username} },
		q, func(l login) error { return fn(l.Login) })
}

// DeleteLogin removes a login.
func (s *Store) DeleteLogin(_ context.Context, id int64) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.logins[id]; !ok {
		return notFound("login", id)
	}
	delete(s.logins, id)
	return nil
}

func (s *Store) byUsername(name string) (login, bool) {
	for _, l := range s.logins {
		if l.Username == name {
			return l, true
		}
	}
	return login{}, false
}

// ChangePassword sets a new password when the current one matches.
func (s *Store) ChangePassword(_ context.Context, in models.LoginUpdate) (models.Login, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Login{}, err
	}
	defer unlock()
	if err := models.AsError(in.Check()); err != nil {
		return models.Login{}, err
	}
	l, ok := s.byUsername(in.Username)
	if !ok || l.password != in.Password {
		return models.Login{}, repository.ErrBadCredentials
	}
	l.password = in.NewPassword
	s.logins[l.LoginID] = l
	return l.Login, nil
}

// VerifyLogin checks a username and password.
func (s *Store) VerifyLogin(_ context.Context, username, password string) (models.Login, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Login{}, err
	}
	defer unlock()
	l, ok := s.byUsername(username)
	if !ok || l.password != password {
		return models.Login{}, repository.ErrBadCredentials
	}
	return l.Login, nil
}

// CreateOfficial stores a new official.
func (s *Store) CreateOfficial(_ context.Context, o models.Official) (models.Official, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Official{}, err
	}
	defer unlock()
	if err := models.AsError(o.Check(s.Today)); err != nil {
		return models.Official{}, err
	}
	if _, ok := s.officials[o.OfficialID]; ok {
		return models.Official{}, &repository.ConflictError{Kind: "official", Field: "official_id", Value: o.OfficialID}
	}
	s.officials[o.OfficialID] = o
	return o, nil
}

// GetOfficial returns one official.
func (s *Store) GetOfficial(_ context.Context, id int64) (models.Official, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Official{}, err
	}
	defer unlock()
	o, ok := s.officials[id]
	if !ok {
		return models.Official{}, notFound("official", id)
	}
	return o, nil
}

// ListOfficials calls fn for a page of officials.
func (s *Store) ListOfficials(_ context.Context, q repository.ListQuery, fn func(models.Official) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return list(s.officials, func(o models.Official) int64 { return o.OfficialID },
		func(o models.Official) []string { return []string{o.FirstName, o.LastName} }, q, fn)
}

// UpdateOfficial applies a patch.
func (s *Store) UpdateOfficial(_ context.Context, id int64, p models.OfficialPatch) (models.Official, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Official{}, err
	}
	defer unlock()
	o, ok := s.officials[id]
	if !ok {
		return models.Official{}, notFound("official", id)
	}
	o = p.Apply(o)
	if err := models.AsError(o.Check(s.Today)); err != nil {
		return models.Official{}, err
	}
	s.officials[id] = o
	return o, nil
}

// DeleteOfficial removes an official no game refers to.
func (s *Store) DeleteOfficial(_ context.Context, id int64) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.officials[id]; !ok {
		return notFound("official", id)
	}
	var refs []string
	for _, g := range s.games {
		if slices.Contains(g.Officials, id) {
			refs = append(refs, fmt.Sprintf("game %d", g.GameID))
		}
	}
	if len(refs) > 0 {
		return &repository.InUseError{Kind: "official", ID: id, Referrers: refs}
	}
	delete(s.officials, id)
	return nil
}

func (s *Store) checkPlayer(p models.Player) error {
	fields := p.Check(s.Today)
	if p.GameID != nil {
		if _, ok := s.games[*p.GameID]; !ok {
			fields = append(fields, models.FieldError{Field: "game_id", Message: fmt.Sprintf("game %d does not exist", *p.GameID)})
		}
	}
	return models.AsError(fields)
}

// CreatePlayer stores a new player.
func (s *Store) CreatePlayer(_ context.Context, p models.Player) (models.Player, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Player{}, err
	}
	defer unlock()
	if err := s.checkPlayer(p); err != nil {
		return models.Player{}, err
	}
	if _, ok := s.players[p.PlayerID]; ok {
		return models.Player{}, &repository.ConflictError{Kind: "player", Field: "player_id", Value: p.PlayerID}
	}
	s.players[p.PlayerID] = p
	return p, nil
}

// GetPlayer returns one player.
func (s *Store) GetPlayer(_ context.Context, id int64) (models.Player, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Player{}, err
	}
	defer unlock()
	p, ok := s.players[id]
	if !ok {
		return models.Player{}, notFound("player", id)
	}
	return p, nil
}

// ListPlayers calls fn for a page of players.
func (s *Store) ListPlayers(_ context.Context, q repository.ListQuery, fn func(models.Player) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return list(s.players, func(p models.Player) int64 { return p.PlayerID },
		func(p models.Player) []string { return []string{p.FirstName, p.LastName} }, q, fn)
}

// UpdatePlayer applies a patch.
func (s *Store) UpdatePlayer(_ context.Context, id int64, patch models.PlayerPatch) (models.Player, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Player{}, err
	}
	defer unlock()
	p, ok := s.players[id]
	if !ok {
		return models.Player{}, notFound("player", id)
	}
	p = patch.Apply(p)
	if err := s.checkPlayer(p); err != nil {
		return models.Player{}, err
	}
	s.players[id] = p
	return p, nil
}

// DeletePlayer removes a player.
func (s *Store) DeletePlayer(_ context.Context, id int64) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.players[id]; !ok {
		return notFound("player", id)
	}
	delete(s.players, id)
	return nil
}

func (s *Store) checkGame(g models.Game) error {
	fields := g.Check(s.Today)
	for i, id := range g.Officials {
		if _, ok := s.officials[id]; !ok {
			fields = append(fields, models.FieldError{Field: fmt.Sprintf("officials[%d]", i), Message: fmt.Sprintf("official %d does not exist", id)})
		}
	}
	return models.AsError(fields)
}

// CreateGame stores a new game.
func (s *Store) CreateGame(_ context.Context, g models.Game) (models.Game, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Game{}, err
	}
	defer unlock()
	if err := s.checkGame(g); err != nil {
		return models.Game{}, err
	}
	if _, ok := s.games[g.GameID]; ok {
		return models.Game{}, &repository.ConflictError{Kind: "game", Field: "game_id", Value: g.GameID}
	}
	s.games[g.GameID] = g
	return g, nil
}

// GetGame returns one game.
func (s *Store) GetGame(_ context.Context, id int64) (models.Game, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Game{}, err
	}
	defer unlock()
	g, ok := s.games[id]
	if !ok {
		return models.Game{}, notFound("game", id)
	}
	return g, nil
}

// ListGames calls fn for a page of games.
func (s *Store) ListGames(_ context.Context, q repository.ListQuery, fn func(models.Game) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	return list(s.games, func(g models.Game) int64 { return g.GameID },
		func(g models.Game) []string { return []string{g.Name} }, q, fn)
}

// UpdateGame applies a patch.
func (s *Store) UpdateGame(_ context.Context, id int64, patch models.GamePatch) (models.Game, error) {
	unlock, err := s.lock()
	if err != nil {
		return models.Game{}, err
	}
	defer unlock()
	g, ok := s.games[id]
	if !ok {
		return models.Game{}, notFound("game", id)
	}
	g = patch.Apply(g)
	if err := s.checkGame(g); err != nil {
		return models.Game{}, err
	}
	s.games[id] = g
	return g, nil
}

// DeleteGame removes a game no player takes part in.
func (s *Store) DeleteGame(_ context.Context, id int64) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := s.games[id]; !ok {
		return notFound("game", id)
	}
	var refs []string
	for _, p := range s.players {
		if p.GameID != nil && *p.GameID == id {
			refs = append(refs, fmt.Sprintf("player %d", p.PlayerID))
		}
	}
	if len(refs) > 0 {
		return &repository.InUseError{Kind: "game", ID: id, Referrers: refs}
	}
	delete(s.games, id)
	return nil
}
