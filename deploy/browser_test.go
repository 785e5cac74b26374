package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

	"github.com/osms/sports-service/internal/testenv"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium with a fresh profile; the returned
// problems collect failed requests, HTTP errors and JS exceptions.
func newBrowser(t *testing.T) (context.Context, *problems) {
	t.Helper()
	requireTool(t, chromiumPath, "chromium")
	opts := testenv.ChromiumOptions(t, chromiumPath, 1280, 1600)
	p := &problems{}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf), chromedp.WithListener(p.handle))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, p
}

// problems collects failed requests, HTTP errors and JS exceptions.
type problems struct {
	mu   sync.Mutex
	urls map[network.RequestID]string
	list []string
}

// handle runs on chromedp's reader goroutine: it only records.
func (p *problems) handle(ev any) {
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

func (p *problems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

// run runs one action with a deadline.
func run[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// screenshot saves the whole page, or the element sel when it is not empty,
// as a PNG in the artifacts directory.
func screenshot(t *testing.T, ctx context.Context, name string, sel ...string) {
	t.Helper()
	shot := chromedp.FullScreenshot(100)
	if len(sel) > 0 {
		shot = chromedp.Screenshot(chromedp.CSS(sel[0]))
	}
	png, err := run(ctx, shot)
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artifactsDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// operations lists "METHOD /path" of an OpenAPI document.
func operations(t *testing.T, spec string) []string {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(spec), &doc); err != nil {
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

// tryItOut expands an operation, presses "Try it out", optionally replaces
// the JSON body, presses "Execute" and returns the live response's status
// and body as Swagger UI shows them. The presses are real mouse clicks.
func tryItOut(t *testing.T, ctx context.Context, method, path, body string) (string, string) {
	t.Helper()
	fail := func(what string, err error) {
		t.Helper()
		screenshot(t, ctx, "try-failed")
		t.Fatalf("Try it out %s %s: %s: %v", method, path, what, err)
	}
	id, err := run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(%s)?.id || ''`, opblockJS(method, path))))
	if err != nil || id == "" {
		fail("find the operation", err)
	}
	block := fmt.Sprintf(`[id=%q]`, id)
	if _, err := run(ctx, chromedp.Click(chromedp.CSS(block+" .opblock-summary-control"))); err != nil {
		fail("expand", err)
	}
	if _, err := run(ctx, chromedp.Click(chromedp.CSS(block+" .try-out__btn"))); err != nil {
		fail("press Try it out", err)
	}
	if _, err := run(ctx, chromedp.WaitVisible(chromedp.CSS(block+" .execute"))); err != nil {
		fail("find Execute", err)
	}
	if body != "" {
		// Swagger UI's textarea is a React input: set the value through the
		// native setter and fire "input" so React sees the change.
		js := fmt.Sprintf(`(() => { const ta = document.querySelector(%q); if (!ta) return false;
			Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(ta, %q);
			ta.dispatchEvent(new Event('input', { bubbles: true })); return true })()`, block+" textarea.body-param__text", body)
		if _, err := run(ctx, chromedp.Poll[chromedp.Void](js)); err != nil {
			fail("fill in the body", err)
		}
	}
	if _, err := run(ctx, chromedp.Click(chromedp.CSS(block+" .execute"))); err != nil {
		fail("press Execute", err)
	}
	status, err := run(ctx, chromedp.Text(chromedp.CSS(block+" .live-responses-table tbody .response-col_status")))
	if err != nil {
		fail("read the live response", err)
	}
	respBody, _ := run(ctx, chromedp.Text(chromedp.CSS(block+" .live-responses-table tbody .response-col_description")))
	screenshot(t, ctx, "try-"+strings.ToLower(method)+strings.ReplaceAll(path, "/", "-"), block)
	return strings.TrimSpace(status), respBody
}

// testBrowser drives Swagger UI through the gateway, and opens /metrics on an
// instance.
func testBrowser(t *testing.T, st *stack) {
	ctx, seen := newBrowser(t)

	_, spec := get(t, st.gw.URL+"/openapi.json")
	want := operations(t, spec)

	_, err := run(ctx, chromedp.Steps(
		chromedp.Navigate(st.gw.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(`.opblock`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll('.opblock').length >= %d`, len(want))),
	))
	if err != nil {
		screenshot(t, ctx, "docs-failed")
		t.Fatalf("/docs through the gateway: %v (problems: %v)", err, seen.take())
	}
	shown, err := run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('.opblock')).map(b =>
		b.querySelector('.opblock-summary-method').textContent.trim() + ' ' +
		b.querySelector('.opblock-summary-path').getAttribute('data-path'))`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "docs")
	slices.Sort(shown)
	if !slices.Equal(shown, want) {
		t.Errorf("Swagger UI lists %d operations, openapi.json has %d\nshown: %v\nspec:  %v", len(shown), len(want), shown, want)
	}
	for _, p := range seen.take() {
		t.Errorf("loading /docs: %s", p)
	}

	status, body := tryItOut(t, ctx, "GET", "/ch11/player/list/all", "")
	if status != "200" {
		t.Errorf("Try it out GET /ch11/player/list/all: %s %.300s", status, body)
	}

	id := 1 + rand.IntN(1_000_000)
	status, body = tryItOut(t, ctx, "POST", "/ch11/player/add", player(id))
	if !strings.HasPrefix(status, "2") || !strings.Contains(body, fmt.Sprint(id)) {
		t.Errorf("Try it out POST /ch11/player/add: %s %.300s", status, body)
	}
	for _, p := range seen.take() {
		t.Errorf("trying out: %s", p)
	}

	if _, err := run(ctx, chromedp.Navigate(st.instances[1].URL+"/metrics")); err != nil {
		t.Fatalf("/metrics on an instance: %v", err)
	}
	ctype, _ := run(ctx, chromedp.Evaluate[string](`document.contentType`))
	text, _ := run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	screenshot(t, ctx, "metrics")
	if ctype != "text/plain" || !strings.Contains(text, "# TYPE") {
		t.Errorf("/metrics opens as %q: %.200s", ctype, text)
	}
}
