// Command migratebench measures `sports-service migrate` on a large embedded
// database (docs/performance.md, "Moving the data out"). From the
// repository root:
//
//	go run ./bench/cmd/migratebench -players 100000
//
// It builds the service and bench/cmd/ferretdb, seeds -players players into
// a fresh data directory (with the driver, through a FerretDB process on that
// directory, as the performance suite seeds), then times the export (embedded
// to a separate FerretDB process) and the import (that process into a fresh
// data directory), each a process of the built binary: wall time, and peak
// resident memory (the kernel's maxrss, VmHWM) of the migrate process, which
// holds the embedded FerretDB too.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/osms/sports-service/internal/benchdata"
)

func main() {
	players := flag.Int("players", 100000, "players to seed")
	batch := flag.Int("batch", 0, "migrate's --batch (0: its default)")
	work := flag.String("dir", "", "working directory (default: a new temporary one, removed at the end)")
	flag.Parse()
	if err := run(*players, *batch, *work); err != nil {
		fmt.Fprintln(os.Stderr, "migratebench:", err)
		os.Exit(1)
	}
}

func run(players, batch int, work string) error {
	if work == "" {
		dir, err := os.MkdirTemp("", "migratebench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	service, err := build(work, ".", "sports-service")
	if err != nil {
		return err
	}
	ferret, err := build(work, "./bench/cmd/ferretdb", "ferretdb")
	if err != nil {
		return err
	}
	src, back := filepath.Join(work, "src"), filepath.Join(work, "back")

	start := time.Now()
	seedURI, stopSeed, err := startFerretDB(ferret, src)
	if err != nil {
		return err
	}
	err = seed(seedURI, players)
	stopSeed()
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d players in %s\n", players, time.Since(start).Round(time.Second))

	target, stopTarget, err := startFerretDB(ferret, filepath.Join(work, "target"))
	if err != nil {
		return err
	}
	defer stopTarget()
	args := func(from, to string) []string {
		a := []string{"migrate", "--from", from, "--to", to}
		if batch > 0 {
			a = append(a, "--batch", fmt.Sprint(batch))
		}
		return a
	}
	fmt.Println("| direction | players | wall time | peak RSS (maxrss) |")
	fmt.Println("|---|---|---|---|")
	for _, step := range []struct {
		name, dataDir string
		args          []string
	}{
		{"export: embedded to a FerretDB process", src, args("embedded", target)},
		{"import: that FerretDB process into a fresh data dir", back, args(target, "embedded")},
	} {
		took, rss, err := measure(service, step.dataDir, step.args)
		if err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		fmt.Printf("| %s | %d | %.1f s | %d MiB |\n", step.name, players, took.Seconds(), rss>>10)
	}
	return nil
}

func build(dir, pkg, name string) (string, error) {
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// startFerretDB runs bench/cmd/ferretdb on dir and returns its URI.
func startFerretDB(bin, dir string) (string, func(), error) {
	cmd := exec.Command(bin, "-sqlite-dir", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	uri, ok := strings.CutPrefix(strings.TrimSpace(line), "uri ")
	if err != nil || !ok {
		stop()
		return "", nil, fmt.Errorf("ferretdb did not print its URI: %q, %v", line, err)
	}
	return uri, stop, nil
}

// seed inserts players 1..n in batches of 1,000.
func seed(uri string, n int) error {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(5 * time.Minute))
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(ctx) }()
	coll := client.Database("osms").Collection("player")
	docs := make([]any, 0, 1000)
	for id := int64(1); id <= int64(n); id++ {
		docs = append(docs, benchdata.NewPlayer(id))
		if len(docs) == cap(docs) || id == int64(n) {
			if _, err := coll.InsertMany(ctx, docs); err != nil {
				return fmt.Errorf("insert players up to %d: %w", id, err)
			}
			docs = docs[:0]
		}
	}
	return nil
}

// measure runs the service binary with args on dataDir and returns its wall
// time and peak resident set in KiB.
func measure(bin, dataDir string, args []string) (time.Duration, int64, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATA_DIR=" + dataDir, "ENV_FILE=" + os.DevNull}
	cmd.Stderr = os.Stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	fmt.Fprint(os.Stderr, string(out))
	if err != nil {
		return 0, 0, err
	}
	return took, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, nil
}
