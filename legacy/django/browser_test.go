package django

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/osms/sports-service/internal/testenv"
)

// artifactsDir is where screenshots go: $ARTIFACTS_DIR, else a directory
// under the system's temporary directory that outlives the test.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "sports-service-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAdminInHeadlessChromium logs in with a real browser under the strict
// CSP: the page must load its CSS from /static/, no request may fail, and
// the browser must report no error (a CSP violation would be one).
func TestAdminInHeadlessChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	exe := testenv.ChromiumPath(t)
	s := newFakeSite(t)
	seedRecords(t, s.store)

	opts := testenv.ChromiumOptions(t, exe, 1200, 800)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	var mu sync.Mutex
	var problems []string
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	urls := map[network.RequestID]string{}
	// The listener runs on the tab's reader goroutine: record and return.
	listener := func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			mu.Lock()
			urls[ev.RequestID] = ev.Request.URL
			mu.Unlock()
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				report("%s answered %d", ev.Response.URL, ev.Response.Status)
			}
		case *network.EventLoadingFailed:
			mu.Lock()
			u := urls[ev.RequestID]
			mu.Unlock()
			report("request %s failed: %s", u, ev.ErrorText)
		case *runtime.EventExceptionThrown:
			report("script exception: %s", ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				report("browser error: %s", ev.Entry.Text)
			}
		}
	}
	ctx, cancelBrowser := chromedp.NewContext(ctx, chromedp.WithListener(listener))
	defer cancelBrowser()

	admin := s.URL + mount + "/admin/"
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	step("open the login page", chromedp.Navigate(admin+"login/"), chromedp.WaitVisible(chromedp.CSS("#f-username")))
	background := eval(`getComputedStyle(document.body).backgroundColor`)
	stylesheet := eval(`Array.from(document.styleSheets).map(s => s.href).join(" ")`)
	step("log in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), testUser),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("header.site .user")))
	step("open the players list", chromedp.Navigate(admin+"players/"), chromedp.WaitVisible(chromedp.CSS("table tbody tr")))
	rows := eval(`String(document.querySelectorAll("table tbody tr").length)`)
	screenshot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if background != "rgb(246, 247, 249)" {
		t.Errorf("body background %q: admin.css did not apply", background)
	}
	if !strings.Contains(stylesheet, "/static/admin/admin.") {
		t.Errorf("stylesheets %q: not loaded from /static/", stylesheet)
	}
	if rows != "3" {
		t.Errorf("players list shows %s rows, want 3", rows)
	}
	path := filepath.Join(artifactsDir(t), "admin-players.png")
	if err := os.WriteFile(path, screenshot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
}
