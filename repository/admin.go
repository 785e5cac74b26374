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

// ErrUsernameTaken is returned by EnsureAdmin when no admin exists but the
// requested username belongs to a login that is not one: promoting it would
// hand the admin role to whoever chose that name (and its password).
var ErrUsernameTaken = errors.New("the username is taken by a login that is not an admin")

// EnsureAdmin creates an admin login with username and password when no
// admin exists yet, and reports whether it did. Once any admin exists it
// does nothing at all, so restarting with ADMIN_PASSWORD still set (or
// changed) neither resets a password nor creates a second admin. It holds the
// admins' lock, so that instances starting together create one admin, and no
// demotion runs meanwhile.
func (s *Store) EnsureAdmin(ctx context.Context, username, password string) (bool, error) {
	lock, release, err := s.leases.acquireLock(ctx, adminsLock, time.Now().Add(s.waitLimit()))
	if err != nil {
		return false, err
	}
	defer release()
	if n, err := s.countAdmins(ctx, 0); err != nil || n > 0 {
		return false, err
	}
	for attempt := 0; ; attempt++ {
		if d, found, err := s.findLoginByUsername(ctx, username); err != nil {
			return false, err
		} else if found && roleOf(d.Role) == models.RoleAdmin {
			return false, nil // added through the API meanwhile
		} else if found {
			return false, fmt.Errorf("create the first admin %q: %w", username, ErrUsernameTaken)
		}
		id, err := s.nextLoginID(ctx)
		if err != nil {
			return false, err
		}
		if err := lock.fresh("the admins"); err != nil {
			return false, err
		}
		_, err = s.CreateLogin(ctx, models.LoginCreate{LoginID: id, Username: username, Password: password, Role: models.RoleAdmin})
		var ce *ConflictError
		if errors.As(err, &ce) && attempt < 5 {
			// A login took that id or name meanwhile: look again.
			continue
		}
		if err != nil {
			return false, fmt.Errorf("create the first admin: %w", err)
		}
		return true, nil
	}
}

// adminsLock is the lock every write that may remove an admin holds while it
// counts the others: two demotions of the last two admins, sent to two
// instances at once, cannot both see another admin.
const adminsLock = "admins"

// keepAnotherAdmin takes the admins' lock for a write that removes admin id
// (a demotion or a delete) and refuses it with ErrLastAdmin when no other
// admin exists. The returned release is called after the write.
func (s *Store) keepAnotherAdmin(ctx context.Context, id int64) (func(), error) {
	_, release, err := s.leases.acquireLock(ctx, adminsLock, time.Now().Add(s.waitLimit()))
	if err != nil {
		return nil, err
	}
	n, err := s.countAdmins(ctx, id)
	if err == nil && n == 0 {
		err = ErrLastAdmin
	}
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// countAdmins counts the admins other than login except, up to one.
func (s *Store) countAdmins(ctx context.Context, except int64) (int64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	if s.lookups != nil {
		if docIDs, err := s.lookups.Equal(ctx, s.logins.Name(), "role", models.RoleAdmin, 2); err == nil {
			for _, id := range idsOfDocIDs(docIDs) {
				if id != except {
					return 1, nil
				}
			}
			return 0, nil
		}
	}
	n, err := s.logins.CountDocuments(ctx, bson.D{{Key: "role", Value: models.RoleAdmin},
		{Key: "login_id", Value: bson.D{{Key: "$ne", Value: except}}}}, options.Count().SetLimit(1))
	if err != nil {
		return 0, unavailable("count admins", err)
	}
	return n, nil
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

// ErrLastAdmin refuses to demote or delete the only admin: nobody could
// change records, or roles, any more.
var ErrLastAdmin = errors.New("the last admin cannot be demoted or deleted")

// SetLoginRole changes the role of login id.
func (s *Store) SetLoginRole(ctx context.Context, id int64, role string) (models.Login, error) {
	if role != models.RoleAdmin && role != models.RoleViewer {
		return models.Login{}, &models.ValidationError{Fields: []models.FieldError{{Field: "role", Message: "must be admin or viewer"}}}
	}
	d, err := s.loginEntity().update(ctx, s, id, func(ctx context.Context, cur loginDoc) (loginDoc, func(), error) {
		next := cur
		next.Role = role
		if roleOf(cur.Role) != models.RoleAdmin || role != models.RoleViewer {
			return next, nil, nil
		}
		release, err := s.keepAnotherAdmin(ctx, id)
		return next, release, err
	})
	if err != nil {
		return models.Login{}, err
	}
	return loginOf(d), nil
}
