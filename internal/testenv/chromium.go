package testenv

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath finds the browser: $CHROMIUM_PATH, else Debian's chromium.
// It skips the test when there is none, unless CI=true, where that fails.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, c := range []string{os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "chromium not found (/usr/bin/chromium or $CHROMIUM_PATH): apt-get install -y chromium"
	RequireOrSkip(t, msg)
	return ""
}

// ChromiumOptions starts headless Chromium at exe with a fresh profile and
// a window of width×height. The network flags matter here: this machine's
// network is closed, and Chromium's background connections would otherwise
// fail many at a time.
func ChromiumOptions(t testing.TB, exe string, width, height int) []chromedp.ExecAllocatorOption {
	t.Helper()
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
}
