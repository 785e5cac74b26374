package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process of the suite: the service, the baseline, a
// FerretDB or PostgreSQL helper.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
	log  string // file holding its stderr (and stdout unless discarded)
}

// startProc starts bin with env added to a minimal environment. Its stdout
// goes to stdout (nil: discarded, which keeps an access log's write per
// request without filling a disk), its stderr to dir/name.log.
func startProc(dir, name string, env []string, stdout io.Writer, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	// A small, explicit environment: nothing of the caller's (a MONGODB_URI,
	// a .env) leaks into a measured process.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stderr = lf
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			lf.Close()
			return nil, err
		}
		defer devnull.Close()
		cmd.Stdout = devnull
	}
	// Its own process group: stopping the suite with ^C reaches the suite,
	// which then stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() {
		p.done <- cmd.Wait()
		lf.Close()
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits, then SIGKILL after 20 s.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the process has ended, with its log's tail.
func (p *proc) exited() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("%s exited (%v): %s", p.name, err, tail(p.log))
	default:
		return nil
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHTTP polls url until it answers 200, and returns how long that took
// from since.
func waitHTTP(p *proc, url string, since time.Time, limit time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := since.Add(limit)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(since), nil
			}
		}
		if err := p.exited(); err != nil {
			return 0, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %s not ready after %s: %s", p.name, url, limit, tail(p.log))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitLine reads lines of r until one starts with prefix, and returns the
// rest of it.
func waitLine(r *bufio.Reader, prefix string) (string, error) {
	for {
		line, err := r.ReadString('\n')
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSpace(strings.TrimPrefix(line, prefix)), nil
		}
		if err != nil {
			return "", fmt.Errorf("no %q line: %w", prefix, err)
		}
	}
}

// procStatus reads a "Key:  N kB" field of /proc/PID/status, in bytes.
func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux platform Go supports.
const clockTicks = 100

// cpuTime is the process's user+system CPU time so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// openFDs counts /proc/PID/fd.
func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return len(ents)
}

// rssSampler polls VmRSS while a load runs: the peak under that load, which
// the lifetime VmHWM cannot give once a process has served several loads.
type rssSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  int64
	sum  int64
	n    int64
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			v := procStatus(pid, "VmRSS")
			s.max = max(s.max, v)
			s.sum += v
			s.n++
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// done stops sampling and returns the peak and mean RSS in bytes.
func (s *rssSampler) done() (peak, mean int64) {
	close(s.stop)
	s.wg.Wait()
	if s.n == 0 {
		return 0, 0
	}
	return s.max, s.sum / s.n
}

// usage measures a process's CPU over a load.
type usage struct {
	pid   int
	cpu0  time.Duration
	rss   *rssSampler
	start time.Time
}

func measure(pid int) *usage {
	return &usage{pid: pid, cpu0: cpuTime(pid), rss: sampleRSS(pid), start: time.Now()}
}

// Usage is one process's resource use over one load.
type Usage struct {
	CPU     time.Duration `json:"cpu_ns"`
	PeakRSS int64         `json:"peak_rss"`
	MeanRSS int64         `json:"mean_rss"`
}

func (u *usage) done() Usage {
	peak, mean := u.rss.done()
	return Usage{CPU: cpuTime(u.pid) - u.cpu0, PeakRSS: peak, MeanRSS: mean}
}

// httpGet fetches url and returns the status and body.
func httpGet(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), err
}

// defaultClient is the suite's own HTTP client for checks (not for load).
var defaultClient = http.DefaultClient
