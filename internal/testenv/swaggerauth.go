package testenv

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// Credentials are a login's username and password.
type Credentials struct {
	Username, Password string
}

// AuthorizeSwaggerUI signs in through Swagger UI's Authorize dialog with the
// OAuth2 password flow, as a user does (real clicks and key presses), and
// closes the dialog: afterwards "Try it out" sends the token. The page must
// show /docs already.
func AuthorizeSwaggerUI(t *testing.T, ctx context.Context, c Credentials) {
	t.Helper()
	fail := func(what string, err error) {
		t.Helper()
		Screenshot(t, ctx, "authorize-failed")
		t.Fatalf("Swagger UI Authorize: %s: %v", what, err)
	}
	if _, err := RunAction(ctx, chromedp.Click(chromedp.CSS(`.auth-wrapper .btn.authorize`))); err != nil {
		fail("press Authorize", err)
	}
	if _, err := RunAction(ctx, chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(`#oauth_username`)),
		chromedp.SendKeys(chromedp.CSS(`#oauth_username`), c.Username),
		chromedp.SendKeys(chromedp.CSS(`#oauth_password`), c.Password),
	)); err != nil {
		fail("fill in the dialog", err)
	}
	if _, err := RunAction(ctx, chromedp.Click(chromedp.CSS(`.auth-container:has(#oauth_username) .btn.modal-btn.auth.authorize`))); err != nil {
		fail("press the dialog's Authorize", err)
	}
	// Signed in, the dialog offers Logout instead of Authorize.
	if _, err := RunAction(ctx, chromedp.Poll[chromedp.Void](
		`Array.from(document.querySelectorAll('.auth-container')).some(c => c.textContent.includes('oauth2') &&
			Array.from(c.querySelectorAll('button')).some(b => b.textContent.trim() === 'Logout'))`)); err != nil {
		errors, _ := RunAction(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('.modal-ux .errors')).map(e => e.textContent).join(' | ')`))
		fail(fmt.Sprintf("sign-in did not succeed (dialog errors: %q)", errors), err)
	}
	Screenshot(t, ctx, "authorized", ".modal-ux")
	if _, err := RunAction(ctx, chromedp.Click(chromedp.CSS(`.modal-ux .btn-done`))); err != nil {
		fail("close the dialog", err)
	}
}
