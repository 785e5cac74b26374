// Command kubepause is the sandbox ("pause") container of the test cluster
// that .ci/kube.sh runs: the process that holds a pod's namespaces. It does
// what Kubernetes' pause.c does: wait for SIGINT or SIGTERM and exit 0, and
// reap the zombies it inherits as PID 1 of a pod that shares its process
// namespace. It is built here because no registry (registry.k8s.io/pause)
// is reachable; .ci/kube.sh packs the static binary as a one-layer image.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() { run(func() {}) }

// run calls ready once it handles the signals, and exits on SIGINT or SIGTERM.
func run(ready func()) {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	ready()
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
