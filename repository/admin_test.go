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
