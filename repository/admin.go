package repository

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/models"
)

// ErrUsernameTaken is returned by EnsureAdmin when no admin exists but the
// requested username belongs to a login that is not one: promoting it would
// hand the admin role to whoever chose that name (and its password).
var ErrUsernameTaken = errors.New("the username is taken by a login that is not an admin")

// EnsureAdmin creates an admin login with username and password when no
// admin exists yet, and reports whether it did. Once any admin exists it
// does nothing at all, so restarting with ADMIN_PASSWORD still set (or
// changed) neither resets a password nor creates a second admin.
func (s *Store) EnsureAdmin(ctx context.Context, username, password string) (bool, error) {
	cctx, cancel := s.call(ctx)
	n, err := s.logins.CountDocuments(cctx, bson.D{{Key: "role", Value: models.RoleAdmin}}, options.Count().SetLimit(1))
	cancel()
	if err != nil {
		return false, unavailable("count admins", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, found, err := s.findLoginByUsername(ctx, username); err != nil {
		return false, err
	} else if found {
		return false, fmt.Errorf("create the first admin %q: %w", username, ErrUsernameTaken)
	}
	id, err := s.nextLoginID(ctx)
	if err != nil {
		return false, err
	}
	_, err = s.CreateLogin(ctx, models.LoginCreate{LoginID: id, Username: username, Password: password, Role: models.RoleAdmin})
	var ce *ConflictError
	if errors.As(err, &ce) {
		// Another instance starting at the same time created it.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create the first admin: %w", err)
	}
	return true, nil
}

// nextLoginID is one more than the largest login id.
func (s *Store) nextLoginID(ctx context.Context) (int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	var last loginDoc
	err := s.logins.FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "login_id", Value: -1}})).Decode(&last)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 1, nil
	}
	if err != nil {
		return 0, unavailable("find the last login", err)
	}
	return last.LoginID + 1, nil
}

// LoginByUsername returns the login named username.
func (s *Store) LoginByUsername(ctx context.Context, username string) (models.Login, error) {
	d, found, err := s.findLoginByUsername(ctx, username)
	if err != nil {
		return models.Login{}, err
	}
	if !found {
		return models.Login{}, fmt.Errorf("login %q: %w", username, ErrNotFound)
	}
	return loginOf(d), nil
}

// ErrLastAdmin refuses to demote the only admin: nobody could change
// records, or roles, any more.
var ErrLastAdmin = errors.New("the last admin cannot be demoted")

// SetLoginRole changes the role of login id.
func (s *Store) SetLoginRole(ctx context.Context, id int64, role string) (models.Login, error) {
	if role != models.RoleAdmin && role != models.RoleViewer {
		return models.Login{}, &models.ValidationError{Fields: []models.FieldError{{Field: "role", Message: "must be admin or viewer"}}}
	}
	d, err := s.loginEntity().get(ctx, s, id)
	if err != nil {
		return models.Login{}, err
	}
	if roleOf(d.Role) == models.RoleAdmin && role == models.RoleViewer {
		cctx, cancel := s.call(ctx)
		n, err := s.logins.CountDocuments(cctx, bson.D{{Key: "role", Value: models.RoleAdmin}}, options.Count().SetLimit(2))
		cancel()
		if err != nil {
			return models.Login{}, unavailable("count admins", err)
		}
		if n < 2 {
			return models.Login{}, ErrLastAdmin
		}
	}
	uctx, cancel := s.call(ctx)
	defer cancel()
	res, err := s.logins.UpdateOne(uctx, bson.D{{Key: "_id", Value: d.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: role}}}})
	if err != nil {
		return models.Login{}, unavailable("update login", err)
	}
	if res.MatchedCount == 0 {
		return models.Login{}, fmt.Errorf("login %d: %w", id, ErrNotFound)
	}
	d.Role = role
	return loginOf(d), nil
}
