package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment variables that point the interop tests at their peers; unset,
// they default to what .ci/spring-client.sh and .ci/python-peers.sh cache.
const (
	EnvSpringClientJar = "SPRING_CLIENT_JAR"
	EnvEurekaPython    = "EUREKA_PYTHON"
)

// SpringClientApp is the Eureka application name the Spring client
// registers under (spring.application.name, upper-cased by Eureka).
const SpringClientApp = "INTEROP-SPRING-CLIENT"

// springStartTimeout covers a JVM start and the first registry fetch on a
// busy two-core machine.
const springStartTimeout = 3 * time.Minute

// SpringClient is interop/spring-client running as a child process: a Spring
// Cloud application with the standard Eureka client and LoadBalancer, driven
// over its HTTP control API (see ControlController.java).
type SpringClient struct {
	URL string

	logPath string
	cmd     *exec.Cmd
	started time.Time
	exited  chan error
}

// StartSpringClient starts the Spring client registered at eurekaURL with the
// "fast" profile (1 s registry fetch and LoadBalancer cache) plus the given
// --key=value properties, and stops it when the test ends. It returns while
// the JVM is still starting, so the caller can start other things meanwhile;
// WaitReady waits for it. A missing java or jar skips the test (fails in CI).
func StartSpringClient(t testing.TB, eurekaURL string, props ...string) *SpringClient {
	t.Helper()
	jar := springClientJar(t)
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	s := &SpringClient{
		URL:     fmt.Sprintf("http://127.0.0.1:%d", port),
		logPath: filepath.Join(t.TempDir(), "spring-client.log"),
		exited:  make(chan error, 1),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	args := []string{"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", jar,
		"--spring.profiles.active=fast",
		"--server.port=" + strconv.Itoa(port),
		"--server.address=127.0.0.1",
		"--eureka.client.service-url.defaultZone=" + eurekaURL,
		"--eureka.instance.hostname=127.0.0.1",
		"--eureka.instance.ip-address=127.0.0.1",
	}
	s.cmd = exec.Command("java", append(args, props...)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start the Spring client: %v", err)
	}
	s.started = time.Now()
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("Spring client log (last lines of %s):\n%s", s.logPath, logTail(s.logPath, 60))
		}
	})
	return s
}

// stop ends the client; SIGTERM first, so that it deregisters.
func (s *SpringClient) stop() { terminate(s.cmd, s.exited) }

// terminate sends SIGTERM, so a peer deregisters from Eureka, and kills it if
// it has not exited within 10 s; exited receives cmd.Wait's result.
func terminate(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// WaitReady waits until the application answers its actuator health.
func (s *SpringClient) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(springStartTimeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exited:
			s.exited <- err
			t.Fatalf("the Spring client exited during start-up: %v\n%s", err, logTail(s.logPath, 60))
		default:
		}
		if resp, err := client.Get(s.URL + "/actuator/health"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("Spring client up at %s %s after its start", s.URL, time.Since(s.started).Round(10*time.Millisecond))
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the Spring client did not answer /actuator/health within %s", springStartTimeout)
}

// Do sends a request to the control API and decodes a 2xx JSON answer into
// out (when out is not nil); another status fails the test.
func (s *SpringClient) Do(t testing.TB, method, path string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The longest control call makes a few hundred calls to the service.
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, body, err)
		}
	}
}

// CallStats are the Spring client's counters of calls to the service.
type CallStats struct {
	OK          int            `json:"ok"`
	Failed      int            `json:"failed"`
	MaxMillis   float64        `json:"maxMillis"`
	PerInstance map[string]int `json:"perInstance"`
	// LastMillis is when each instance last answered (epoch milliseconds).
	LastMillis map[string]int64 `json:"lastMillis"`
	Errors     []struct {
		AtMillis int64  `json:"atMillis"`
		Error    string `json:"error"`
	} `json:"errors"`
}

// SpringInstance is a service instance as Spring's DiscoveryClient shows it.
type SpringInstance struct {
	ServiceID        string            `json:"serviceId"`
	InstanceID       string            `json:"instanceId"`
	Host             string            `json:"host"`
	Port             int               `json:"port"`
	Secure           bool              `json:"secure"`
	URI              string            `json:"uri"`
	Metadata         map[string]string `json:"metadata"`
	App              string            `json:"app"`
	VIPAddress       string            `json:"vipAddress"`
	SecureVIPAddress string            `json:"secureVipAddress"`
	IPAddr           string            `json:"ipAddr"`
	HostName         string            `json:"hostName"`
	Status           string            `json:"status"`
	HomePageURL      string            `json:"homePageUrl"`
	StatusPageURL    string            `json:"statusPageUrl"`
	HealthCheckURL   string            `json:"healthCheckUrl"`
}

// Instances returns what the Spring DiscoveryClient lists for serviceId.
func (s *SpringClient) Instances(t testing.TB, serviceID string) []SpringInstance {
	t.Helper()
	var out []SpringInstance
	s.Do(t, http.MethodGet, "/instances/"+serviceID, &out)
	return out
}

// springClientJar returns $SPRING_CLIENT_JAR, else the jar that
// .ci/spring-client.sh caches for the current sources.
func springClientJar(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		RequireOrSkip(t, "java for the Spring client (apt-get install openjdk-17-jdk-headless)")
	}
	jar := os.Getenv(EnvSpringClientJar)
	if jar == "" {
		var err error
		if jar, err = cachedMavenJar("interop/spring-client", "interop-spring-client"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(jar); err != nil {
		RequireOrSkip(t, fmt.Sprintf("the Spring client jar %s (bash .ci/spring-client.sh, or set %s): %v", jar, EnvSpringClientJar, err))
	}
	return jar
}

// EurekaPython returns a python that can import py_eureka_client:
// $EUREKA_PYTHON, else the venv .ci/python-peers.sh creates. Missing, it
// skips the test (fails in CI).
func EurekaPython(t testing.TB) string {
	t.Helper()
	python := os.Getenv(EnvEurekaPython)
	if python == "" {
		cache, err := cacheDir()
		if err != nil {
			t.Fatal(err)
		}
		python = filepath.Join(cache, "interop-venv", "bin", "python")
	}
	if out, err := exec.Command(python, "-c", "import py_eureka_client").CombinedOutput(); err != nil {
		RequireOrSkip(t, fmt.Sprintf("python with py_eureka_client at %s (bash .ci/python-peers.sh, or set %s): %v %s", python, EnvEurekaPython, err, out))
	}
	return python
}

// PythonScript is the path of a script in interop/python.
func PythonScript(t testing.TB, name string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "interop", "python", name)
}

// PythonPeer is interop/python/peer_app.py: an HTTP app registered in Eureka
// with py_eureka_client.
type PythonPeer struct {
	URL string
}

// StartPythonPeer starts peer_app.py registered as app at eurekaURL with a
// 1 s lease renewal, waits until it has registered, and stops it (SIGTERM,
// so it deregisters) when the test ends.
func StartPythonPeer(t testing.TB, python, eurekaURL, app string) *PythonPeer {
	t.Helper()
	cmd := exec.Command(python, PythonScript(t, "peer_app.py"),
		"--eureka", eurekaURL, "--app", app, "--renewal", "1", "--duration", "3")
	logPath := filepath.Join(t.TempDir(), "peer_app.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start peer_app.py: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		terminate(cmd, exited)
		if t.Failed() {
			t.Logf("peer_app.py stderr:\n%s", logTail(logPath, 40))
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				line <- u
			}
		}
	}()
	select {
	case u := <-line:
		return &PythonPeer{URL: u}
	case err := <-exited:
		exited <- err
		t.Fatalf("peer_app.py exited during start-up: %v\n%s", err, logTail(logPath, 40))
	case <-time.After(30 * time.Second):
		t.Fatalf("peer_app.py did not register within 30 s:\n%s", logTail(logPath, 40))
	}
	return nil
}
