package repository_test

import (
	"context"
	"errors"
	"testing"

	"github.com/osms/sports-service/models"
	"github.com/osms/sports-service/repository"
)

// TestEnsureAdminOnlyWhenNoneExists: the first call creates the admin; later
// calls, even with another password or name, change nothing; a name held by
// a viewer is never promoted.
func TestEnsureAdminOnlyWhenNoneExists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateLogin(ctx, models.LoginCreate{LoginID: 7, Username: "mallory", Password: "password-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnsureAdmin(ctx, "mallory", "password-2"); !errors.Is(err, repository.ErrUsernameTaken) {
		t.Fatalf("EnsureAdmin on a viewer's name = %v, want ErrUsernameTaken", err)
	}
	if l, err := s.VerifyLogin(ctx, "mallory", "password-1"); err != nil || l.Role != models.RoleViewer {
		t.Fatalf("the viewer changed: %+v, %v", l, err)
	}

	steps := []struct {
		username, password string
		created            bool
	}{
		{"root", "first-password", true},
		{"root", "second-password", false},
		{"other", "third-password", false},
	}
	for _, st := range steps {
		created, err := s.EnsureAdmin(ctx, st.username, st.password)
		if err != nil || created != st.created {
			t.Fatalf("EnsureAdmin(%s) = %v, %v; want %v", st.username, created, err, st.created)
		}
	}
	l, err := s.VerifyLogin(ctx, "root", "first-password")
	if err != nil || l.Role != models.RoleAdmin || l.LoginID != 8 {
		t.Fatalf("the admin = %+v, %v; want login 8 with role admin and the first password", l, err)
	}
	if _, err := s.GetLogin(ctx, 9); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("a second admin was created: %v", err)
	}
}

// TestSetLoginRole: roles change both ways, but the last admin stays one.
func TestSetLoginRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	for _, l := range []models.LoginCreate{
		{LoginID: 1, Username: "root", Password: "password-1", Role: models.RoleAdmin},
		{LoginID: 2, Username: "coach", Password: "password-2"},
	} {
		if _, err := s.CreateLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		id      int64
		role    string
		wantErr error
	}{
		{1, models.RoleViewer, repository.ErrLastAdmin},
		{2, models.RoleAdmin, nil},
		{1, models.RoleViewer, nil},
		{2, models.RoleViewer, repository.ErrLastAdmin},
		{3, models.RoleAdmin, repository.ErrNotFound},
		{2, "root", models.ErrValidation},
	}
	for i, st := range steps {
		l, err := s.SetLoginRole(ctx, st.id, st.role)
		if !errors.Is(err, st.wantErr) || (err == nil && l.Role != st.role) {
			t.Fatalf("step %d: SetLoginRole(%d, %s) = %+v, %v; want error %v", i, st.id, st.role, l, err, st.wantErr)
		}
	}
	if l, _ := s.GetLogin(ctx, 2); l.Role != models.RoleAdmin {
		t.Errorf("login 2 is %s, want admin", l.Role)
	}
}
