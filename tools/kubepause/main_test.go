package main

import (
	"bufio"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The test binary runs main itself when this variable is set, so the test
// signals the real program.
const runMain = "KUBEPAUSE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMain) == "1" {
		run(func() { os.Stdout.WriteString("ready\n") })
		os.Exit(3) // run returns only if the signal channel closes
	}
	os.Exit(m.Run())
}

// TestStopsOnSignal: like pause.c, it runs until SIGINT or SIGTERM and then
// exits 0 (the runtime stops a sandbox with SIGTERM); SIGCHLD (a reaped
// child) does not stop it.
func TestStopsOnSignal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before []syscall.Signal // sent first; it must survive these
		stop   syscall.Signal
	}{
		{"SIGTERM", nil, syscall.SIGTERM},
		{"SIGINT", nil, syscall.SIGINT},
		{"SIGCHLD then SIGTERM", []syscall.Signal{syscall.SIGCHLD}, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), runMain+"=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Before its handlers are installed a SIGTERM would kill it
			// with a signal status instead of exit 0.
			if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "ready\n" {
				_ = cmd.Process.Kill()
				t.Fatalf("first line %q, %v; want ready", line, err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			for _, s := range tc.before {
				if err := cmd.Process.Signal(s); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case err := <-done:
				t.Fatalf("exited before %v: %v", tc.stop, err)
			case <-time.After(300 * time.Millisecond):
			}
			if err := cmd.Process.Signal(tc.stop); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("after %v: %v, want exit status 0", tc.stop, err)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running 10 s after %v", tc.stop)
			}
		})
	}
}
