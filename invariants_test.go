package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/internal/invariants"
	"github.com/osms/sports-service/internal/testenv"
)

// The rules of the data hold across instances that share one database
// (docs/concurrency.md): several processes of the built binary on one
// FerretDB process, requests that break a rule if both succeed sent to
// different instances at the same moment, and the data read back at the end.

const machineToken = "machine-token-0123456789" // API_TOKEN: an admin machine client

var (
	ferretOnce sync.Once
	ferretBin  string
	ferretErr  error
	mutantOnce sync.Once
	mutantBin  string
	mutantErr  error
)

// buildTool builds a package of this module into a temporary directory.
func buildTool(pkg, name string, tags ...string) (string, error) {
	dir, err := os.MkdirTemp("", "sports-service-"+name)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	args := []string{"build", "-o", bin}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// startFerretDBProcess runs FerretDB (SQLite) as a process of its own, as
// the performance suite does (bench/cmd/ferretdb), and returns its URI.
func startFerretDBProcess(t *testing.T) string {
	t.Helper()
	ferretOnce.Do(func() { ferretBin, ferretErr = buildTool("./bench/cmd/ferretdb", "ferretdb") })
	if ferretErr != nil {
		t.Fatal(ferretErr)
	}
	cmd := exec.Command(ferretBin, "-sqlite-dir", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	uri, ok := strings.CutPrefix(strings.TrimSpace(line), "uri ")
	if err != nil || !ok {
		t.Fatalf("ferretdb did not print its URI: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return uri
}

// instances are service processes sharing one database.
type instances struct {
	uri   string
	procs []*serviceProcess
	// dead are the indexes of instances killed on purpose.
	dead   map[int]bool
	client *http.Client
}

func clusterEnv(uri string) map[string]string {
	env := authEnv() // sign-in on: the role routes exist; ADMIN_USERNAME root
	env["MONGODB_URI"] = uri
	// Short, so that leases left by a killed instance go stale (4 x 1s)
	// within the test.
	env["DB_TIMEOUT"] = "1s"
	return env
}

// startInstances starts n processes of bin on a new FerretDB process and
// waits until each is ready.
func startInstances(t *testing.T, bin string, n int) *instances {
	t.Helper()
	c := &instances{uri: startFerretDBProcess(t), dead: map[int]bool{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}
	for range n {
		c.procs = append(c.procs, startProcessOf(t, bin, clusterEnv(c.uri)))
	}
	for _, p := range c.procs {
		awaitReady(t, c.client, p.URL)
	}
	t.Logf("database %s, instances %v", c.uri, func() (urls []string) {
		for _, p := range c.procs {
			urls = append(urls, fmt.Sprintf("%s (pid %d)", p.URL, p.cmd.Process.Pid))
		}
		return urls
	}())
	return c
}

func awaitReady(t *testing.T, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a hang, not a timing assertion
	for {
		resp, err := client.Get(base + "/health/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready (last: %v)", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Send is invariants.Client's: a request to instance inst, as the admin
// machine client.
func (c *instances) Send(inst int, s invariants.Step) invariants.Answer {
	headers := append([]string{"Authorization", "Bearer " + machineToken}, s.Header...)
	req, err := testenv.NewRequest(s.Method, c.procs[inst].URL+s.Path, s.Body, headers...)
	if err != nil {
		return invariants.Answer{Err: err}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return invariants.Answer{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return invariants.Answer{Status: resp.StatusCode, Body: string(data), Header: resp.Header, Err: err}
}

// alive lists the instances not killed.
func (c *instances) alive() []int {
	var out []int
	for i := range c.procs {
		if !c.dead[i] {
			out = append(out, i)
		}
	}
	return out
}

func (c *instances) play(t *testing.T, races []invariants.Race, first, rounds int, tally *invariants.Tally, between func(int)) {
	t.Helper()
	if err := invariants.Play(c, races, first, rounds, tally, c.alive, func(i int) bool { return c.dead[i] }, between); err != nil {
		t.Fatal(err)
	}
}

// TestInvariantsAcrossInstances: three instances of the built binary on one
// FerretDB process, every rule raced across them, then once more while one
// of them is killed with SIGKILL mid-run. Zero violations, in the answers
// and in the data read back.
func TestInvariantsAcrossInstances(t *testing.T) {
	t.Parallel()
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	if n, err := strconv.Atoi(os.Getenv("INVARIANT_ROUNDS")); err == nil && n > 0 {
		rounds = n // a longer soak: INVARIANT_ROUNDS=200 go test -run TestInvariants .
	}
	t.Run("three instances", func(t *testing.T) {
		c := startInstances(t, serviceBinary(t), 3)
		var tally invariants.Tally
		c.play(t, invariants.Races(0), 0, rounds, &tally, nil)
		reportRaces(t, c, &tally)
	})
	t.Run("the embedded default", func(t *testing.T) {
		// One process on its own data directory: the leases in memory and
		// no re-read under a claim (repository.Options.Exclusive), the
		// lookups from the SQLite files. Both requests of each race go to
		// it at the same moment.
		env := clusterEnv("")
		env["DATA_DIR"] = t.TempDir()
		c := &instances{dead: map[int]bool{},
			client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}}
		c.procs = append(c.procs, startProcessOf(t, serviceBinary(t), env))
		awaitReady(t, c.client, c.procs[0].URL)
		var tally invariants.Tally
		c.play(t, invariants.Races(0), 0, rounds, &tally, nil)
		reportRaces(t, c, &tally)
	})
	t.Run("one instance killed mid-run", func(t *testing.T) {
		c := startInstances(t, serviceBinary(t), 3)
		var tally invariants.Tally
		races := invariants.Races(0)
		// The kill comes while the rounds run: a burst of writes goes to
		// the victim and it dies under them, leaving whatever leases it
		// held (they go stale after 4 x DB_TIMEOUT).
		c.play(t, races, 0, rounds, &tally, func(n int) {
			if n != rounds/2 {
				return
			}
			victim := 2
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					id := int64(900000 + i)
					c.Send(victim, invariants.Step{Method: "POST", Path: "/ch11/game/add", Body: invariants.GameBody(id)})
					c.Send(victim, invariants.Step{Method: "DELETE", Path: fmt.Sprintf("/ch11/game/delete/%d", id)})
				})
			}
			time.Sleep(5 * time.Millisecond)
			c.dead[victim] = true
			if err := c.procs[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
		})
		// The survivors still serve every kind of write once the dead
		// instance's leases are stale.
		time.Sleep(4 * time.Second)
		c.play(t, races, rounds, 2, &tally, nil)
		reportRaces(t, c, &tally)
	})
}

func reportRaces(t *testing.T, c *instances, tally *invariants.Tally) {
	t.Helper()
	broken, err := invariants.ReadBack(c, c.alive()[0])
	if err != nil {
		t.Fatal(err)
	}
	invariants.Report(t, tally, broken)
}

// TestInvariantsMutation is the mutation check of the test above: the same
// races against a build whose leases are kept in each process only
// (-tags mutation_local_leases: the cross-instance mechanism removed, the
// in-process one kept) must break a rule. If they do not, the races are
// too weak to show that the real build holds them.
func TestInvariantsMutation(t *testing.T) {
	t.Parallel()
	mutantOnce.Do(func() { mutantBin, mutantErr = buildTool(".", "sports-service-mutant", "mutation_local_leases") })
	if mutantErr != nil {
		t.Fatal(mutantErr)
	}
	c := startInstances(t, mutantBin, 2)
	var tally invariants.Tally
	for n := 0; n < 40 && len(tally.Violations) == 0; n += 4 {
		c.play(t, invariants.Races(0)[:4], n, 4, &tally, nil)
	}
	broken, err := invariants.ReadBack(c, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mutant: %d races, %d violations in the answers, %d in the data", tally.Rounds, len(tally.Violations), len(broken))
	if len(tally.Violations) == 0 && len(broken) == 0 {
		t.Fatal("with leases kept per process, no rule was broken: the races do not test the cross-instance mechanism")
	}
}

// TestFirstAdminBeforeReady: instances started together on an empty
// database with ADMIN_USERNAME create one admin, and each reports ready only
// once that admin can sign in (docs/concurrency.md, readiness).
func TestFirstAdminBeforeReady(t *testing.T) {
	t.Parallel()
	bin := serviceBinary(t)
	for attempt := range 3 {
		uri := startFerretDBProcess(t)
		var procs []*serviceProcess
		for range 3 {
			procs = append(procs, startProcessOf(t, bin, clusterEnv(uri)))
		}
		client := &http.Client{Timeout: 30 * time.Second}
		for i, p := range procs {
			awaitReady(t, client, p.URL)
			form := url.Values{"grant_type": {"password"}, "username": {"root"}, "password": {testAdminPass}}
			resp, err := client.Post(p.URL+"/ch11/login/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("start %d, instance %d: ready, but the first admin's sign-in answered %d %s", attempt, i, resp.StatusCode, body)
			}
		}
		admins := countLogins(t, uri, bson.D{{Key: "role", Value: "admin"}})
		if admins != 1 {
			t.Errorf("start %d: %d admins after three instances started together, want 1", attempt, admins)
		}
	}
}

func countLogins(t *testing.T, uri string, filter bson.D) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	n, err := client.Database("osms").Collection("login").CountDocuments(ctx, filter)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		t.Fatal(err)
	}
	return n
}
