package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/models"
)

// Stored documents. Dates are BSON datetimes at midnight UTC.

type loginDoc struct {
	ID           string `bson:"_id"`
	LoginID      int64  `bson:"login_id"`
	Username     string `bson:"username"`
	PasswordHash string `bson:"password_hash"`
	Role         string `bson:"role,omitempty"`
}

type officialDoc struct {
	ID          string    `bson:"_id"`
	OfficialID  int64     `bson:"official_id"`
	FirstName   string    `bson:"fname"`
	LastName    string    `bson:"lname"`
	Age         int       `bson:"age"`
	Birthday    time.Time `bson:"birthday"`
	DateStarted time.Time `bson:"date_started"`
}

type playerDoc struct {
	ID          string    `bson:"_id"`
	PlayerID    int64     `bson:"player_id"`
	FirstName   string    `bson:"fname"`
	LastName    string    `bson:"lname"`
	Age         int       `bson:"age"`
	Birthday    time.Time `bson:"birthday"`
	DateStarted time.Time `bson:"date_started"`
	GameID      *int64    `bson:"game_id"`
}

type gameDoc struct {
	ID        string    `bson:"_id"`
	GameID    int64     `bson:"game_id"`
	Name      string    `bson:"name"`
	DateStart time.Time `bson:"date_start"`
	DateEnd   time.Time `bson:"date_end"`
	Officials []int64   `bson:"officials"`
}

func (s *Store) loginEntity() entity[loginDoc, loginDoc] {
	return entity[loginDoc, loginDoc]{
		coll: s.logins, kind: "login", idField: "login_id", searchFields: []string{"username"},
		toDoc: func(d loginDoc) loginDoc { return d }, fromDoc: func(d loginDoc) loginDoc { return d },
	}
}

func (s *Store) officialEntity() entity[models.Official, officialDoc] {
	return entity[models.Official, officialDoc]{
		coll: s.officials, kind: "official", idField: "official_id", searchFields: []string{"fname", "lname"},
		toDoc: func(o models.Official) officialDoc {
			return officialDoc{ID: docID(o.OfficialID), OfficialID: o.OfficialID, FirstName: o.FirstName, LastName: o.LastName,
				Age: o.Age, Birthday: o.Birthday.Time(), DateStarted: o.DateStarted.Time()}
		},
		fromDoc: func(d officialDoc) models.Official {
			return models.Official{OfficialID: d.OfficialID, FirstName: d.FirstName, LastName: d.LastName,
				Age: d.Age, Birthday: models.DateOf(d.Birthday), DateStarted: models.DateOf(d.DateStarted)}
		},
	}
}

func (s *Store) playerEntity() entity[models.Player, playerDoc] {
	return entity[models.Player, playerDoc]{
		coll: s.players, kind: "player", idField: "player_id", searchFields: []string{"fname", "lname"},
		toDoc: func(p models.Player) playerDoc {
			return playerDoc{ID: docID(p.PlayerID), PlayerID: p.PlayerID, FirstName: p.FirstName, LastName: p.LastName,
				Age: p.Age, Birthday: p.Birthday.Time(), DateStarted: p.DateStarted.Time(), GameID: p.GameID}
		},
		fromDoc: func(d playerDoc) models.Player {
			return models.Player{PlayerID: d.PlayerID, FirstName: d.FirstName, LastName: d.LastName,
				Age: d.Age, Birthday: models.DateOf(d.Birthday), DateStarted: models.DateOf(d.DateStarted), GameID: d.GameID}
		},
	}
}

func (s *Store) gameEntity() entity[models.Game, gameDoc] {
	return entity[models.Game, gameDoc]{
		coll: s.games, kind: "game", idField: "game_id", searchFields: []string{"name"},
		toDoc: func(g models.Game) gameDoc {
			officials := g.Officials
			if officials == nil {
				officials = []int64{}
			}
			return gameDoc{ID: docID(g.GameID), GameID: g.GameID, Name: g.Name,
				DateStart: g.DateStart.Time(), DateEnd: g.DateEnd.Time(), Officials: officials}
		},
		fromDoc: func(d gameDoc) models.Game {
			officials := d.Officials
			if officials == nil {
				officials = []int64{}
			}
			return models.Game{GameID: d.GameID, Name: d.Name, DateStart: models.DateOf(d.DateStart),
				DateEnd: models.DateOf(d.DateEnd), Officials: officials}
		},
	}
}

func loginOf(d loginDoc) models.Login {
	return models.Login{LoginID: d.LoginID, Username: d.Username, Role: roleOf(d.Role)}
}

// roleOf is the stored role; logins stored before roles existed are
// viewers, so that an upgrade grants nobody the right to change records.
func roleOf(stored string) string {
	if stored == models.RoleAdmin {
		return models.RoleAdmin
	}
	return models.RoleViewer
}

// ---- logins ----

// CreateLogin stores a new login with its password hashed.
func (s *Store) CreateLogin(ctx context.Context, in models.LoginCreate) (models.Login, error) {
	if err := models.AsError(in.Check()); err != nil {
		return models.Login{}, err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return models.Login{}, fmt.Errorf("hash password: %w", err)
	}
	d := loginDoc{ID: docID(in.LoginID), LoginID: in.LoginID, Username: in.Username, PasswordHash: hash, Role: roleOf(in.Role)}
	if err := s.loginEntity().insert(ctx, s, in.LoginID, d, map[string]any{"username": in.Username}); err != nil {
		return models.Login{}, err
	}
	return loginOf(d), nil
}

// GetLogin returns the login with id.
func (s *Store) GetLogin(ctx context.Context, id int64) (models.Login, error) {
	d, err := s.loginEntity().get(ctx, s, id)
	return loginOf(d), err
}

// ListLogins streams logins in id order.
func (s *Store) ListLogins(ctx context.Context, q ListQuery, fn func(models.Login) error) error {
	return s.loginEntity().list(ctx, s, q, func(d loginDoc) error { return fn(loginOf(d)) })
}

// DeleteLogin removes the login with id.
func (s *Store) DeleteLogin(ctx context.Context, id int64) error {
	return s.loginEntity().delete(ctx, s, id)
}

func (s *Store) findLoginByUsername(ctx context.Context, username string) (loginDoc, bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var d loginDoc
	err := s.logins.FindOne(ctx, bson.D{{Key: "username", Value: username}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return loginDoc{}, false, nil
	}
	if err != nil {
		return loginDoc{}, false, unavailable("find login", err)
	}
	return d, true, nil
}

// VerifyLogin returns the login when password is right. It spends the same
// time whether or not the username exists.
func (s *Store) VerifyLogin(ctx context.Context, username, password string) (models.Login, error) {
	d, found, err := s.findLoginByUsername(ctx, username)
	if err != nil {
		return models.Login{}, err
	}
	ok, err := s.hasher.Verify(password, d.PasswordHash) // empty hash: dummy comparison
	if err != nil {
		return models.Login{}, fmt.Errorf("verify password of %q: %w", username, err)
	}
	if !found || !ok {
		return models.Login{}, ErrBadCredentials
	}
	return loginOf(d), nil
}

// ChangePassword replaces the password after checking the current one.
func (s *Store) ChangePassword(ctx context.Context, in models.LoginUpdate) (models.Login, error) {
	if err := models.AsError(in.Check()); err != nil {
		return models.Login{}, err
	}
	d, found, err := s.findLoginByUsername(ctx, in.Username)
	if err != nil {
		return models.Login{}, err
	}
	ok, err := s.hasher.Verify(in.Password, d.PasswordHash)
	if err != nil {
		return models.Login{}, fmt.Errorf("verify password of %q: %w", in.Username, err)
	}
	if !found || !ok {
		return models.Login{}, ErrBadCredentials
	}
	hash, err := s.hasher.Hash(in.NewPassword)
	if err != nil {
		return models.Login{}, fmt.Errorf("hash password: %w", err)
	}
	uctx, cancel := s.call(ctx)
	defer cancel()
	// Matching the old hash too makes two concurrent changes safe: only the
	// first one that verified against the stored hash wins.
	res, err := s.logins.UpdateOne(uctx,
		bson.D{{Key: "_id", Value: d.ID}, {Key: "password_hash", Value: d.PasswordHash}},
		// A password change is a write: the version moves on (from 0 to
		// 1 for a login stored before versions).
		bson.D{{Key: "$set", Value: bson.D{{Key: "password_hash", Value: hash}}},
			{Key: "$inc", Value: bson.D{{Key: versionField, Value: int64(1)}}}})
	if err != nil {
		return models.Login{}, unavailable("update login", err)
	}
	if res.MatchedCount == 0 {
		return models.Login{}, ErrBadCredentials
	}
	return loginOf(d), nil
}

// ---- officials ----

// CreateOfficial stores a new official.
func (s *Store) CreateOfficial(ctx context.Context, o models.Official) (models.Official, error) {
	if err := models.AsError(o.Check(models.Today())); err != nil {
		return models.Official{}, err
	}
	if err := s.officialEntity().insert(ctx, s, o.OfficialID, o, nil); err != nil {
		return models.Official{}, err
	}
	return o, nil
}

// GetOfficial returns the official with id.
func (s *Store) GetOfficial(ctx context.Context, id int64) (models.Official, error) {
	return s.officialEntity().get(ctx, s, id)
}

// ListOfficials streams officials in id order.
func (s *Store) ListOfficials(ctx context.Context, q ListQuery, fn func(models.Official) error) error {
	return s.officialEntity().list(ctx, s, q, fn)
}

// UpdateOfficial applies a partial update and validates the result.
func (s *Store) UpdateOfficial(ctx context.Context, id int64, p models.OfficialPatch) (models.Official, error) {
	return s.officialEntity().update(ctx, s, id, func(cur models.Official) (models.Official, error) {
		next := p.Apply(cur)
		return next, models.AsError(next.Check(models.Today()))
	})
}

// DeleteOfficial removes an official that no game refers to.
func (s *Store) DeleteOfficial(ctx context.Context, id int64) error {
	s.refs.Lock()
	defer s.refs.Unlock()
	referrers, err := referrers(ctx, s, s.games, "game_id", "game", bson.D{{Key: "officials", Value: id}})
	if err != nil {
		return err
	}
	if len(referrers) > 0 {
		return &InUseError{Kind: "official", ID: id, Referrers: referrers}
	}
	return s.officialEntity().delete(ctx, s, id)
}

// ---- players ----

// CreatePlayer stores a new player whose game, if any, exists.
func (s *Store) CreatePlayer(ctx context.Context, p models.Player) (models.Player, error) {
	if err := models.AsError(p.Check(models.Today())); err != nil {
		return models.Player{}, err
	}
	s.refs.Lock()
	defer s.refs.Unlock()
	if err := s.checkGameRef(ctx, p.GameID); err != nil {
		return models.Player{}, err
	}
	if err := s.playerEntity().insert(ctx, s, p.PlayerID, p, nil); err != nil {
		return models.Player{}, err
	}
	return p, nil
}

func (s *Store) checkGameRef(ctx context.Context, gameID *int64) error {
	if gameID == nil {
		return nil
	}
	ok, err := s.gameEntity().exists(ctx, s, *gameID)
	if err != nil {
		return err
	}
	if !ok {
		return models.AsError([]models.FieldError{{Field: "game_id", Message: fmt.Sprintf("game %d does not exist", *gameID)}})
	}
	return nil
}

// GetPlayer returns the player with id.
func (s *Store) GetPlayer(ctx context.Context, id int64) (models.Player, error) {
	return s.playerEntity().get(ctx, s, id)
}

// ListPlayers streams players in id order.
func (s *Store) ListPlayers(ctx context.Context, q ListQuery, fn func(models.Player) error) error {
	return s.playerEntity().list(ctx, s, q, fn)
}

// UpdatePlayer applies a partial update and validates the result.
func (s *Store) UpdatePlayer(ctx context.Context, id int64, p models.PlayerPatch) (models.Player, error) {
	s.refs.Lock()
	defer s.refs.Unlock()
	return s.playerEntity().update(ctx, s, id, func(cur models.Player) (models.Player, error) {
		next := p.Apply(cur)
		if err := models.AsError(next.Check(models.Today())); err != nil {
			return models.Player{}, err
		}
		if p.GameID.Set {
			if err := s.checkGameRef(ctx, next.GameID); err != nil {
				return models.Player{}, err
			}
		}
		return next, nil
	})
}

// DeletePlayer removes the player with id.
func (s *Store) DeletePlayer(ctx context.Context, id int64) error {
	return s.playerEntity().delete(ctx, s, id)
}

// ---- games ----

// CreateGame stores a new game whose officials exist.
func (s *Store) CreateGame(ctx context.Context, g models.Game) (models.Game, error) {
	if g.Officials == nil {
		g.Officials = []int64{}
	}
	if err := models.AsError(g.Check(models.Today())); err != nil {
		return models.Game{}, err
	}
	s.refs.Lock()
	defer s.refs.Unlock()
	if err := s.checkOfficialRefs(ctx, g.Officials); err != nil {
		return models.Game{}, err
	}
	if err := s.gameEntity().insert(ctx, s, g.GameID, g, nil); err != nil {
		return models.Game{}, err
	}
	return g, nil
}

func (s *Store) checkOfficialRefs(ctx context.Context, ids []int64) error {
	var missing []models.FieldError
	e := s.officialEntity()
	for i, id := range ids {
		ok, err := e.exists(ctx, s, id)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, models.FieldError{
				Field: fmt.Sprintf("officials[%d]", i), Message: fmt.Sprintf("official %d does not exist", id)})
		}
	}
	return models.AsError(missing)
}

// GetGame returns the game with id.
func (s *Store) GetGame(ctx context.Context, id int64) (models.Game, error) {
	return s.gameEntity().get(ctx, s, id)
}

// ListGames streams games in id order.
func (s *Store) ListGames(ctx context.Context, q ListQuery, fn func(models.Game) error) error {
	return s.gameEntity().list(ctx, s, q, fn)
}

// UpdateGame applies a partial update and validates the result.
func (s *Store) UpdateGame(ctx context.Context, id int64, p models.GamePatch) (models.Game, error) {
	s.refs.Lock()
	defer s.refs.Unlock()
	return s.gameEntity().update(ctx, s, id, func(cur models.Game) (models.Game, error) {
		next := p.Apply(cur)
		if err := models.AsError(next.Check(models.Today())); err != nil {
			return models.Game{}, err
		}
		if p.Officials != nil {
			if err := s.checkOfficialRefs(ctx, next.Officials); err != nil {
				return models.Game{}, err
			}
		}
		return next, nil
	})
}

// DeleteGame removes a game that no player takes part in.
func (s *Store) DeleteGame(ctx context.Context, id int64) error {
	s.refs.Lock()
	defer s.refs.Unlock()
	referrers, err := referrers(ctx, s, s.players, "player_id", "player", bson.D{{Key: "game_id", Value: id}})
	if err != nil {
		return err
	}
	if len(referrers) > 0 {
		return &InUseError{Kind: "game", ID: id, Referrers: referrers}
	}
	return s.gameEntity().delete(ctx, s, id)
}

// maxReferrers bounds how many referrers a conflict names.
const maxReferrers = 10

// referrers names up to maxReferrers records of coll matching filter.
func referrers(ctx context.Context, s *Store, coll *mongo.Collection, idField, kind string, filter bson.D) ([]string, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	cur, err := coll.Find(ctx, filter, options.Find().
		SetProjection(bson.D{{Key: idField, Value: 1}}).SetLimit(maxReferrers))
	if err != nil {
		return nil, unavailable("find referrers in "+coll.Name(), err)
	}
	defer cur.Close(ctx)
	var names []string
	for cur.Next(ctx) {
		id, ok := cur.Current.Lookup(idField).AsInt64OK()
		if !ok {
			continue
		}
		names = append(names, fmt.Sprintf("%s %d", kind, id))
	}
	return names, unavailable("find referrers in "+coll.Name(), cur.Err())
}
