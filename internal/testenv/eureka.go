// Package testenv starts real dependencies for tests.
package testenv

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvEurekaJar overrides where StartEureka looks for the server jar.
const EnvEurekaJar = "EUREKA_JAR"

// eurekaStartTimeout is generous: the JVM needs about 20 s on two cores and
// CI machines may be busier.
const eurekaStartTimeout = 3 * time.Minute

// Eureka is a real Spring Cloud Netflix Eureka server (registry/) running as
// a child process on a free loopback port, with the "test" profile (no
// self-preservation, eviction every second, no response cache).
type Eureka struct {
	// URL is the service URL to register at, http://127.0.0.1:PORT/eureka.
	URL  string
	Port int

	t       testing.TB
	jar     string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives cmd.Wait's result
}

// StartEureka starts a Eureka server and stops it when the test ends. It
// skips the test when java or the jar is missing, unless CI=true, where that
// is a failure. Build the jar first with `bash .ci/registry.sh`.
func StartEureka(t testing.TB) *Eureka {
	t.Helper()
	jar, err := findEureka()
	if err != nil {
		RequireOrSkip(t, fmt.Sprintf("the Eureka server jar (bash .ci/registry.sh, or set EUREKA_JAR): %v", err))
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	e := &Eureka{
		URL:     fmt.Sprintf("http://127.0.0.1:%d/eureka", port),
		Port:    port,
		t:       t,
		jar:     jar,
		logPath: filepath.Join(t.TempDir(), "eureka.log"),
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			e.dumpLog()
		}
	})
	e.Start()
	return e
}

// Start starts the server if it is not running and waits until it answers.
// It returns the time the server first answered.
func (e *Eureka) Start() time.Time {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		return time.Now()
	}
	logFile, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		e.t.Fatalf("open eureka log: %v", err)
	}
	defer logFile.Close()
	// C1-only JIT and the serial collector start the JVM faster; the
	// server is small and short-lived here.
	cmd := exec.Command("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-jar", e.jar,
		"--spring.profiles.active=test",
		"--server.port="+strconv.Itoa(e.Port),
		"--server.address=127.0.0.1",
		"--spring.main.banner-mode=off",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	started := time.Now()
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start eureka: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	up, err := waitForEureka(e.URL, exited)
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		e.dumpLog()
		e.t.Fatalf("eureka did not start: %v", err)
	}
	e.cmd, e.exited = cmd, exited
	e.t.Logf("eureka server up at %s after %s", e.URL, up.Sub(started).Round(10*time.Millisecond))
	return up
}

// Stop kills the server (SIGKILL: its registry is in memory and a test that
// stops it wants it gone, not drained) and waits for the process to exit.
func (e *Eureka) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Kill()
	<-e.exited
	e.cmd, e.exited = nil, nil
}

// Restart stops the server and starts it again on the same port with an
// empty registry; it returns the time the new server first answered.
func (e *Eureka) Restart() time.Time {
	e.t.Helper()
	e.Stop()
	return e.Start()
}

// waitForEureka polls GET /eureka/apps until it answers 200.
func waitForEureka(serviceURL string, exited <-chan error) (time.Time, error) {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(eurekaStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return time.Time{}, fmt.Errorf("process exited: %v", err)
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, serviceURL+"/apps", nil)
		req.Header.Set("Accept", "application/json")
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("no answer from %s/apps within %s", serviceURL, eurekaStartTimeout)
}

func (e *Eureka) dumpLog() {
	e.t.Logf("eureka server log (last lines of %s):\n%s", e.logPath, logTail(e.logPath, 60))
}

// logTail returns the last n lines of the file at p: the lines that tell why
// a process failed, without its whole long log.
func logTail(p string, n int) string {
	f, err := os.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// RegisteredInstance is an instance as Eureka's REST API shows it in JSON.
type RegisteredInstance struct {
	InstanceID string `json:"instanceId"`
	HostName   string `json:"hostName"`
	App        string `json:"app"`
	IPAddr     string `json:"ipAddr"`
	Status     string `json:"status"`
	VIPAddress string `json:"vipAddress"`
	// SecureVIPAddress is the name Spring Cloud looks https instances up by.
	SecureVIPAddress string `json:"secureVipAddress"`
	HomePageURL      string `json:"homePageUrl"`
	StatusPageURL    string `json:"statusPageUrl"`
	HealthCheckURL   string `json:"healthCheckUrl"`
	Port             struct {
		Port    int    `json:"$"`
		Enabled string `json:"@enabled"`
	} `json:"port"`
	LeaseInfo struct {
		RenewalIntervalInSecs int   `json:"renewalIntervalInSecs"`
		DurationInSecs        int   `json:"durationInSecs"`
		LastRenewalTimestamp  int64 `json:"lastRenewalTimestamp"`
	} `json:"leaseInfo"`
	Metadata       map[string]string `json:"metadata"`
	DataCenterInfo struct {
		Name  string `json:"name"`
		Class string `json:"@class"`
	} `json:"dataCenterInfo"`
}

// EurekaAt queries a Eureka server that runs elsewhere (a container of the
// compose stack) at serviceURL (http://HOST:PORT/eureka); only the query
// methods (App, Instance, Lookup) apply to it.
func EurekaAt(serviceURL string) *Eureka {
	return &Eureka{URL: serviceURL}
}

// App returns the instances of app from GET /eureka/apps/APP (JSON); none,
// without error, when Eureka answers 404. A server in its default profile
// serves this list from a response cache refreshed every 30 s.
func (e *Eureka) App(app string) ([]RegisteredInstance, error) {
	body, found, err := e.get("/apps/" + strings.ToUpper(app))
	if err != nil || !found {
		return nil, err
	}
	var doc struct {
		Application struct {
			// Eureka writes one instance as an object in some versions
			// and as a list in others.
			Instance json.RawMessage `json:"instance"`
		} `json:"application"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", body, err)
	}
	raw := doc.Application.Instance
	if len(raw) == 0 {
		return nil, nil
	}
	var list []RegisteredInstance
	if raw[0] == '{' {
		var one RegisteredInstance
		err = json.Unmarshal(raw, &one)
		list = []RegisteredInstance{one}
	} else {
		err = json.Unmarshal(raw, &list)
	}
	if err != nil {
		return nil, fmt.Errorf("decode instances %s: %w", raw, err)
	}
	return list, nil
}

// Instance returns the instance with id, or nil if Eureka does not list it.
func (e *Eureka) Instance(app, id string) (*RegisteredInstance, error) {
	list, err := e.App(app)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].InstanceID == id {
			return &list[i], nil
		}
	}
	return nil, nil
}

// Lookup returns the instance with id from GET /eureka/apps/APP/ID, or nil
// when Eureka does not know it. Unlike App, the server answers this from
// its registry directly, not from the response cache: a registration or a
// cancellation shows at once.
func (e *Eureka) Lookup(app, id string) (*RegisteredInstance, error) {
	body, found, err := e.get("/apps/" + strings.ToUpper(app) + "/" + url.PathEscape(id))
	if err != nil || !found {
		return nil, err
	}
	var doc struct {
		Instance RegisteredInstance `json:"instance"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode %s: %w", body, err)
	}
	return &doc.Instance, nil
}

// get GETs a path below the service URL as JSON; found is false on 404.
func (e *Eureka) get(path string) (body []byte, found bool, err error) {
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, true, nil
	case http.StatusNotFound:
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("GET %s: HTTP %d: %s", req.URL, resp.StatusCode, body)
	}
}

// findEureka returns the server jar: $EUREKA_JAR, else the jar that
// .ci/registry.sh caches for the current registry/ sources.
func findEureka() (string, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("java is not installed (PATH has no java): %w", err)
	}
	if jar := os.Getenv(EnvEurekaJar); jar != "" {
		if _, err := os.Stat(jar); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvEurekaJar, jar, err)
		}
		return jar, nil
	}
	jar, err := cachedJarPath()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(jar); err != nil {
		return "", fmt.Errorf("jar %s is missing (run `bash .ci/registry.sh` or set %s): %w", jar, EnvEurekaJar, err)
	}
	return jar, nil
}

// cachedJarPath is where .ci/registry.sh caches the Eureka server jar.
func cachedJarPath() (string, error) { return cachedMavenJar("registry", "eureka-server") }

// cachedMavenJar computes the path .ci/maven-jar.sh DIR NAME writes to:
// CACHE/base(DIR)/NAME-KEY.jar, where KEY is the first 16 hex digits of
// sha256 over `sha256sum` lines ("HASH  PATH\n") of DIR/pom.xml and
// DIR/src/**, in byte order of their paths.
func cachedMavenJar(dir, name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	projectDir := filepath.Join(root, filepath.FromSlash(dir))
	files := []string{"pom.xml"}
	err = filepath.WalkDir(filepath.Join(projectDir, "src"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(projectDir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash %s sources: %w", dir, err)
	}
	sort.Strings(files)
	var sums bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(projectDir, f))
		if err != nil {
			return "", fmt.Errorf("hash %s sources: %w", dir, err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), f)
	}
	key := sha256.Sum256(sums.Bytes())
	cache, err := cacheDir()
	if err != nil {
		return "", fmt.Errorf("locate the jar cache: %w", err)
	}
	return filepath.Join(cache, path.Base(dir), name+"-"+hex.EncodeToString(key[:])[:16]+".jar"), nil
}

// cacheDir is where the .ci scripts cache what they build:
// $SPORTS_SERVICE_CACHE, else ~/.cache/sports-service.
func cacheDir() (string, error) {
	if cache := os.Getenv("SPORTS_SERVICE_CACHE"); cache != "" {
		return cache, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "sports-service"), nil
}

// RepoRoot is the module root (the folder with go.mod), where the
// deployment files live.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// EnvOr is the environment variable name, or def when it is unset or empty.
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// repoRoot walks up from the working directory (a package's folder under
// go test) to the folder with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RefusingAddr returns a loopback host:port where nothing listens (it was
// free a moment ago), for tests of a refused connection.
func RefusingAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
