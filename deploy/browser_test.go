package deploy

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/osms/sports-service/internal/testenv"
)

// testBrowser drives Swagger UI through the gateway (testenv.CheckSwaggerUI,
// shared with the compose stack's tests), and opens /metrics on an instance.
func testBrowser(t *testing.T, st *stack) {
	ctx, seen := testenv.NewBrowser(t)
	testenv.CheckSwaggerUI(t, ctx, seen, st.gw.URL, player, testenv.Credentials{}) // sign-in off

	if _, err := testenv.RunAction(ctx, chromedp.Navigate(st.instances[1].URL+"/metrics")); err != nil {
		t.Fatalf("/metrics on an instance: %v", err)
	}
	ctype, _ := testenv.RunAction(ctx, chromedp.Evaluate[string](`document.contentType`))
	text, _ := testenv.RunAction(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	testenv.Screenshot(t, ctx, "metrics")
	if ctype != "text/plain" || !strings.Contains(text, "# TYPE") {
		t.Errorf("/metrics opens as %q: %.200s", ctype, text)
	}
}
