package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The Swagger UI checks that run wherever the service is reachable: behind
// the native gateway (deploy) and behind the compose stack's (deploy/stack).

// NewBrowser starts headless Chromium (ChromiumPath: skips, or fails in CI,
// without one) with a fresh profile and a 1280x1600 window, and stops it
// when the test ends. The returned BrowserProblems collects what went wrong
// on the page.
func NewBrowser(t *testing.T) (context.Context, *BrowserProblems) {
	t.Helper()
	opts := ChromiumOptions(t, ChromiumPath(t), 1280, 1600)
	p := &BrowserProblems{}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithListener(p.handle))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, p
}

// BrowserProblems collects failed requests, HTTP errors and JS exceptions.
type BrowserProblems struct {
	mu   sync.Mutex
	urls map[network.RequestID]string
	list []string
}

// handle runs on chromedp's reader goroutine: it only records.
func (p *BrowserProblems) handle(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if p.urls == nil {
			p.urls = map[network.RequestID]string{}
		}
		p.urls[ev.RequestID] = ev.Request.URL
	case *network.EventLoadingFailed:
		p.list = append(p.list, fmt.Sprintf("request failed: %s: %s", p.urls[ev.RequestID], ev.ErrorText))
	case *network.EventResponseReceived:
		if ev.Response.Status >= 400 {
			p.list = append(p.list, fmt.Sprintf("HTTP %d: %s", ev.Response.Status, ev.Response.URL))
		}
	case *runtime.EventExceptionThrown:
		p.list = append(p.list, "JS exception: "+ev.ExceptionDetails.Text)
	}
}

// Take returns the problems seen since the last call and forgets them.
func (p *BrowserProblems) Take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

// RunAction runs one browser action with a deadline, so a page that never
// shows what is waited for fails the test instead of hanging it.
func RunAction[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// ArtifactsDir is where screenshots and logs are kept: $ARTIFACTS_DIR/<test>
// when set, else a directory under the temp dir that outlives the test.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ARTIFACTS_DIR")
	if base == "" {
		base = filepath.Join(os.TempDir(), "sports-service-artifacts")
	}
	dir := filepath.Join(base, filepath.Base(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Screenshot saves the whole page, or the element sel when given, as
// NAME.png in ArtifactsDir and logs its path.
func Screenshot(t *testing.T, ctx context.Context, name string, sel ...string) {
	t.Helper()
	shot := chromedp.FullScreenshot(100)
	if len(sel) > 0 {
		shot = chromedp.Screenshot(chromedp.CSS(sel[0]))
	}
	png, err := RunAction(ctx, shot)
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(ArtifactsDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// SwaggerOperations lists "METHOD /path" of an OpenAPI document, sorted.
func SwaggerOperations(t testing.TB, spec []byte) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// opblockJS finds the Swagger UI block of one operation.
func opblockJS(method, path string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll('.opblock')).find(b =>
		b.querySelector('.opblock-summary-method')?.textContent.trim() === %q &&
		b.querySelector('.opblock-summary-path')?.getAttribute('data-path') === %q)`, method, path)
}

// TryItOut expands an operation, presses "Try it out", optionally replaces
// the JSON body, presses "Execute" and returns the live response's status
// and body as Swagger UI shows them. The presses are real mouse clicks.
func TryItOut(t *testing.T, ctx context.Context, method, path, body string) (string, string) {
	t.Helper()
	fail := func(what string, err error) {
		t.Helper()
		Screenshot(t, ctx, "try-failed")
		t.Fatalf("Try it out %s %s: %s: %v", method, path, what, err)
	}
	id, err := RunAction(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(%s)?.id || ''`, opblockJS(method, path))))
	if err != nil || id == "" {
		fail("find the operation", err)
	}
	block := fmt.Sprintf(`[id=%q]`, id)
	if _, err := RunAction(ctx, chromedp.Click(chromedp.CSS(block+" .opblock-summary-control"))); err != nil {
		fail("expand", err)
	}
	if _, err := RunAction(ctx, chromedp.Click(chromedp.CSS(block+" .try-out__btn"))); err != nil {
		fail("press Try it out", err)
	}
	if _, err := RunAction(ctx, chromedp.WaitVisible(chromedp.CSS(block+" .execute"))); err != nil {
		fail("find Execute", err)
	}
	if body != "" {
		// Swagger UI's textarea is a React input: set the value through the
		// native setter and fire "input" so React sees the change.
		js := fmt.Sprintf(`(() => { const ta = document.querySelector(%q); if (!ta) return false;
			Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(ta, %q);
			ta.dispatchEvent(new Event('input', { bubbles: true })); return true })()`, block+" textarea.body-param__text", body)
		if _, err := RunAction(ctx, chromedp.Poll[chromedp.Void](js)); err != nil {
			fail("fill in the body", err)
		}
	}
	if _, err := RunAction(ctx, chromedp.Click(chromedp.CSS(block+" .execute"))); err != nil {
		fail("press Execute", err)
	}
	status, err := RunAction(ctx, chromedp.Text(chromedp.CSS(block+" .live-responses-table tbody .response-col_status")))
	if err != nil {
		fail("read the live response", err)
	}
	respBody, _ := RunAction(ctx, chromedp.Text(chromedp.CSS(block+" .live-responses-table tbody .response-col_description")))
	Screenshot(t, ctx, "try-"+strings.ToLower(method)+strings.ReplaceAll(path, "/", "-"), block)
	return strings.TrimSpace(status), respBody
}

// CheckSwaggerUI opens baseURL/docs: it must render every operation of
// baseURL/openapi.json with no failed request or JS error (screenshot
// "docs"), and "Try it out" on GET /ch11/player/list/all (200) and POST
// /ch11/player/add with playerJSON(a random id) (2xx showing that id) must
// return live answers. With signIn's username set, it first signs in with
// the Authorize dialog (AUTH_ENABLED). Problems seen are reported with
// t.Errorf.
func CheckSwaggerUI(t *testing.T, ctx context.Context, seen *BrowserProblems, baseURL string, playerJSON func(id int) string, signIn Credentials) {
	t.Helper()
	want := SwaggerOperations(t, fetch(t, baseURL+"/openapi.json"))

	_, err := RunAction(ctx, chromedp.Steps(
		chromedp.Navigate(baseURL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`.opblock`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll('.opblock').length >= %d`, len(want))),
	))
	if err != nil {
		Screenshot(t, ctx, "docs-failed")
		t.Fatalf("%s/docs: %v (problems: %v)", baseURL, err, seen.Take())
	}
	shown, err := RunAction(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.opblock')).map(b =>
		b.querySelector('.opblock-summary-method').textContent.trim() + ' ' +
		b.querySelector('.opblock-summary-path').getAttribute('data-path'))`))
	if err != nil {
		t.Fatal(err)
	}
	Screenshot(t, ctx, "docs")
	slices.Sort(shown)
	if !slices.Equal(shown, want) {
		t.Errorf("Swagger UI lists %d operations, openapi.json has %d\nshown: %v\nspec:  %v", len(shown), len(want), shown, want)
	}
	for _, p := range seen.Take() {
		t.Errorf("loading /docs: %s", p)
	}

	if signIn.Username != "" {
		AuthorizeSwaggerUI(t, ctx, signIn)
	}
	status, body := TryItOut(t, ctx, "GET", "/ch11/player/list/all", "")
	if status != "200" {
		t.Errorf("Try it out GET /ch11/player/list/all: %s %.300s", status, body)
	}
	id := 1 + rand.IntN(1_000_000_000)
	status, body = TryItOut(t, ctx, "POST", "/ch11/player/add", playerJSON(id))
	if !strings.HasPrefix(status, "2") || !strings.Contains(body, fmt.Sprint(id)) {
		t.Errorf("Try it out POST /ch11/player/add: %s %.300s", status, body)
	}
	for _, p := range seen.Take() {
		t.Errorf("trying out: %s", p)
	}
}

// fetch GETs url and returns the body of a 200 answer.
func fetch(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v %.200s", url, resp.Status, err, b)
	}
	return b
}
