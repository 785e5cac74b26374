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

// DeleteLogin removes the login with id, unless it is the last admin.
func (s *Store) DeleteLogin(ctx context.Context, id int64) error {
	return s.loginEntity().delete(ctx, s, id, func(ctx context.Context, cur loginDoc) (func(), error) {
		if roleOf(cur.Role) != models.RoleAdmin {
			return nil, nil
		}
		return s.keepAnotherAdmin(ctx, id)
	})
}

func (s *Store) findLoginByUsername(ctx context.Context, username string) (loginDoc, bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var d loginDoc
	filter := bson.D{{Key: "username", Value: username}}
	if s.lookups != nil {
		if ids, lerr := s.lookups.Equal(ctx, s.logins.Name(), "username", username, 1); lerr == nil {
			if len(ids) == 0 {
				return loginDoc{}, false, nil
			}
			// By `_id` alone (FerretDB's only index search); the login may
			// have been deleted, or renamed, since the lookup.
			filter = bson.D{{Key: "_id", Value: ids[0]}}
		}
	}
	err := s.logins.FindOne(ctx, filter).Decode(&d)
	if err == nil && d.Username != username {
		err = mongo.ErrNoDocuments
	}
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
	ok, err := s.hasher.Verify(in.Password, d.PasswordHash) // empty hash: dummy comparison
	if err != nil {
		return models.Login{}, fmt.Errorf("verify password of %q: %w", in.Username, err)
	}
	if !found || !ok {
		return models.Login{}, ErrBadCredentials
	}
	// Hashed before the claim: hashing is slow on purpose.
	hash, err := s.hasher.Hash(in.NewPassword)
	if err != nil {
		return models.Login{}, fmt.Errorf("hash password: %w", err)
	}
	// Under the login's claim, the stored hash must still be the one the
	// password was verified against: of two concurrent changes from the same
	// password, in any instances, only the first wins.
	out, err := s.loginEntity().update(ctx, s, d.LoginID, func(_ context.Context, cur loginDoc) (loginDoc, func(), error) {
		if cur.Username != d.Username || cur.PasswordHash != d.PasswordHash {
			return loginDoc{}, nil, ErrBadCredentials
		}
		cur.PasswordHash = hash
		return cur, nil, nil
	})
	if errors.Is(err, ErrNotFound) {
		return models.Login{}, ErrBadCredentials // deleted meanwhile
	}
	if err != nil {
		return models.Login{}, err
	}
	return loginOf(out), nil
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
	return s.officialEntity().update(ctx, s, id, func(_ context.Context, cur models.Official) (models.Official, func(), error) {
		next := p.Apply(cur)
		return next, nil, models.AsError(next.Check(models.Today()))
	})
}

// DeleteOfficial removes an official that no game refers to.
func (s *Store) DeleteOfficial(ctx context.Context, id int64) error {
	return s.officialEntity().delete(ctx, s, id, func(ctx context.Context, _ models.Official) (func(), error) {
		return nil, s.unreferenced(ctx, "official", id, s.games, "game_id", "game", referrersQuery{field: "officials", value: id, array: true})
	})
}

// ---- players ----

// CreatePlayer stores a new player whose game, if any, exists.
func (s *Store) CreatePlayer(ctx context.Context, p models.Player) (models.Player, error) {
	if err := models.AsError(p.Check(models.Today())); err != nil {
		return models.Player{}, err
	}
	// Once begun, the pin, the insert and the release run to the end even
	// if the client hangs up.
	ctx = context.WithoutCancel(ctx)
	pins, err := s.pinGame(ctx, p.GameID)
	if err != nil {
		return models.Player{}, err
	}
	defer pins.release(ctx)
	if err := pins.fresh(fmt.Sprintf("player %d", p.PlayerID)); err != nil {
		return models.Player{}, err
	}
	if err := s.playerEntity().insert(ctx, s, p.PlayerID, p, nil); err != nil {
		return models.Player{}, err
	}
	return p, nil
}

// pinGame pins the game a player refers to (none: nothing to pin), or
// refuses a game that does not exist.
func (s *Store) pinGame(ctx context.Context, gameID *int64) (*pinned, error) {
	if gameID == nil {
		return nil, nil
	}
	pins, missing, err := s.pinReferenced(ctx, s.games, "game", []int64{*gameID})
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, models.AsError([]models.FieldError{{Field: "game_id", Message: fmt.Sprintf("game %d does not exist", *gameID)}})
	}
	return pins, nil
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
	return s.playerEntity().update(ctx, s, id, func(ctx context.Context, cur models.Player) (models.Player, func(), error) {
		next := p.Apply(cur)
		if err := models.AsError(next.Check(models.Today())); err != nil {
			return models.Player{}, nil, err
		}
		if !p.GameID.Set {
			return next, nil, nil
		}
		pins, err := s.pinGame(ctx, next.GameID)
		if err != nil {
			return models.Player{}, nil, err
		}
		return next, func() { pins.release(ctx) }, nil
	})
}

// DeletePlayer removes the player with id.
func (s *Store) DeletePlayer(ctx context.Context, id int64) error {
	return s.playerEntity().delete(ctx, s, id, nil)
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
	ctx = context.WithoutCancel(ctx) // as in CreatePlayer
	pins, err := s.pinOfficials(ctx, g.Officials)
	if err != nil {
		return models.Game{}, err
	}
	defer pins.release(ctx)
	if err := pins.fresh(fmt.Sprintf("game %d", g.GameID)); err != nil {
		return models.Game{}, err
	}
	if err := s.gameEntity().insert(ctx, s, g.GameID, g, nil); err != nil {
		return models.Game{}, err
	}
	return g, nil
}

// pinOfficials pins the officials a game refers to, or refuses the ones that
// do not exist, each named by its place in the list.
func (s *Store) pinOfficials(ctx context.Context, ids []int64) (*pinned, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pins, missing, err := s.pinReferenced(ctx, s.officials, "official", ids)
	if err != nil {
		return nil, err
	}
	var errs []models.FieldError
	for _, i := range missing {
		errs = append(errs, models.FieldError{
			Field: fmt.Sprintf("officials[%d]", i), Message: fmt.Sprintf("official %d does not exist", ids[i])})
	}
	return pins, models.AsError(errs)
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
	return s.gameEntity().update(ctx, s, id, func(ctx context.Context, cur models.Game) (models.Game, func(), error) {
		next := p.Apply(cur)
		if err := models.AsError(next.Check(models.Today())); err != nil {
			return models.Game{}, nil, err
		}
		if p.Officials == nil {
			return next, nil, nil
		}
		pins, err := s.pinOfficials(ctx, next.Officials)
		if err != nil {
			return models.Game{}, nil, err
		}
		return next, func() { pins.release(ctx) }, nil
	})
}

// DeleteGame removes a game that no player takes part in.
func (s *Store) DeleteGame(ctx context.Context, id int64) error {
	return s.gameEntity().delete(ctx, s, id, func(ctx context.Context, _ models.Game) (func(), error) {
		return nil, s.unreferenced(ctx, "game", id, s.players, "player_id", "player", referrersQuery{field: "game_id", value: id})
	})
}

// pinReferenced pins the records of kind (stored in coll) with ids, so that
// none of them can be deleted before the pins are released, in any instance,
// and returns the places in ids of those that do not exist (then nothing
// stays pinned). See checkReferenced for why it holds.
func (s *Store) pinReferenced(ctx context.Context, coll *mongo.Collection, kind string, ids []int64) (*pinned, []int, error) {
	targets := make([]string, len(ids))
	for i, id := range ids {
		targets[i] = recordKey(kind, id)
	}
	deadline := time.Now().Add(s.waitLimit())
	for n := 0; ; n++ {
		pins, err := s.leases.pin(ctx, targets)
		if err != nil {
			return nil, nil, err
		}
		missing, busy, err := s.checkReferenced(ctx, coll, kind, ids)
		if err == nil && busy < 0 && len(missing) == 0 {
			return pins, nil, nil
		}
		pins.release(ctx)
		switch {
		case err != nil:
			return nil, nil, err
		case busy < 0:
			return nil, missing, nil
		case time.Now().After(deadline):
			return nil, nil, &BusyError{What: fmt.Sprintf("%s %d", kind, ids[busy])}
		}
		// Being deleted: wait for the delete to end one way or the other.
		if err := backoff(ctx, n); err != nil {
			return nil, nil, unavailable("wait for "+kind, err)
		}
	}
}

// checkReferenced runs once the records of kind with ids are pinned. For
// each, it reads the record's version v, then the claim on v, then the
// version again. It returns the places of the records missing, and the place
// of one being deleted or changed meanwhile (-1: none).
//
// Why this holds against a delete, which claims v, then reads the pins, then
// deletes and releases its claim: if the delete read the pins before our pin
// was stored, its claim was stored before our read of the claim. Then either
// we see the claim (and wait), or the delete had already released it, so it
// had already deleted the record, and the second read of the version finds
// it gone. Otherwise the delete sees our pin and waits for it.
func (s *Store) checkReferenced(ctx context.Context, coll *mongo.Collection, kind string, ids []int64) (missing []int, busy int, err error) {
	for i, id := range ids {
		v, found, err := storedVersion(ctx, s, coll, kind, id)
		if err != nil {
			return nil, -1, err
		}
		if !found {
			missing = append(missing, i)
			continue
		}
		claim, held, err := s.leases.findLease(ctx, claimID(kind, id, v))
		if err != nil {
			return nil, -1, err
		}
		if held && claim.Mode == modeDelete && !s.leases.isStale(claim) {
			return nil, i, nil
		}
		again, found, err := storedVersion(ctx, s, coll, kind, id)
		switch {
		case err != nil:
			return nil, -1, err
		case !found:
			missing = append(missing, i)
		case again != v:
			return nil, i, nil
		}
	}
	return missing, -1, nil
}

// storedVersion reads the version of a record, or that it does not exist.
func storedVersion(ctx context.Context, s *Store, coll *mongo.Collection, kind string, id int64) (int64, bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	raw, err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: docID(id)}},
		options.FindOne().SetProjection(bson.D{{Key: versionField, Value: 1}})).Raw()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, unavailable("find "+kind, err)
	}
	return versionOf(raw), true, nil
}

// unreferenced runs under a delete's claim on kind/id: it waits until no
// writer still pins the record, then refuses the delete with *InUseError if a
// record of coll (q) refers to it.
func (s *Store) unreferenced(ctx context.Context, kind string, id int64, coll *mongo.Collection, idField, referrerKind string, q referrersQuery) error {
	name := fmt.Sprintf("%s %d", kind, id)
	if err := s.leases.waitUnpinned(ctx, recordKey(kind, id), name, time.Now().Add(s.waitLimit())); err != nil {
		return err
	}
	found, err := referrers(ctx, s, coll, idField, referrerKind, q)
	if err != nil {
		return err
	}
	if len(found) > 0 {
		return &InUseError{Kind: kind, ID: id, Referrers: found}
	}
	return nil
}

// maxReferrers bounds how many referrers a conflict names.
const maxReferrers = 10

// referrersQuery selects the records that refer to value through field (an
// array of references when array is set).
type referrersQuery struct {
	field string
	value int64
	array bool
}

// referrers names up to maxReferrers records of coll matching q.
func referrers(ctx context.Context, s *Store, coll *mongo.Collection, idField, kind string, q referrersQuery) ([]string, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if s.lookups != nil {
		find := s.lookups.Equal
		if q.array {
			find = s.lookups.Contains
		}
		// The records' `_id` is their id (docID): no document to read.
		if docIDs, err := find(ctx, coll.Name(), q.field, q.value, maxReferrers); err == nil {
			names := make([]string, 0, len(docIDs))
			for _, id := range idsOfDocIDs(docIDs) {
				names = append(names, fmt.Sprintf("%s %d", kind, id))
			}
			return names, nil
		}
	}
	// A query on an array field matches the arrays that hold the value.
	cur, err := coll.Find(ctx, bson.D{{Key: q.field, Value: q.value}}, options.Find().
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
