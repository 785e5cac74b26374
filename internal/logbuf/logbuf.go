// Package logbuf batches the service's log lines into few writes.
//
// A write per log line is a system call per request, under a lock that every
// request then queues on; on two cores that cost more than formatting the
// line. Writer collects lines in memory and writes them out together.
package logbuf

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Sizes of the buffer.
const (
	// flushAt starts a write as soon as this much is pending.
	flushAt = 64 << 10
	// maxPending bounds memory when the output blocks (a full pipe to a
	// stuck log collector): past it, writers wait for the output, as they
	// would without the buffer.
	maxPending = 1 << 20
)

// Writer writes to an output in batches: every interval, as soon as 64 KiB
// are pending, and on Flush and Close. Writes are serialised, so whole lines
// written by concurrent loggers never interleave. With interval 0 every Write
// goes straight to the output.
type Writer struct {
	out io.Writer
	// direct: no batching (interval 0, or closed).
	direct atomic.Bool

	// outMu orders the writes to out; mu guards pending.
	outMu   sync.Mutex
	mu      sync.Mutex
	pending []byte
	spare   []byte // the last written batch's array, for reuse
	err     error  // the first error of out, reported by Flush

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// New returns a Writer on out that flushes every interval (none: 0).
func New(out io.Writer, interval time.Duration) *Writer {
	w := &Writer{out: out, stop: make(chan struct{}), stopped: make(chan struct{})}
	if interval <= 0 {
		w.direct.Store(true)
		close(w.stopped)
		return w
	}
	go w.flushEvery(interval)
	return w
}

func (w *Writer) flushEvery(interval time.Duration) {
	defer close(w.stopped)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write queues p, whole, for the next batch; it writes the batch itself when
// that is due. It reports no error of the output: Flush does.
func (w *Writer) Write(p []byte) (int, error) {
	if w.direct.Load() {
		w.outMu.Lock()
		defer w.outMu.Unlock()
		return w.out.Write(p)
	}
	w.mu.Lock()
	w.pending = append(w.pending, p...)
	n := len(w.pending)
	w.mu.Unlock()
	switch {
	case n >= maxPending || w.direct.Load():
		// Wait for the output: backpressure, or Close ran meanwhile and
		// these lines must not stay behind.
		_ = w.Flush()
	case n >= flushAt && w.outMu.TryLock():
		// (When TryLock fails a flush is already writing; it or the next
		// one takes these lines.)
		w.flushLocked()
		w.outMu.Unlock()
	}
	return len(p), nil
}

// Flush writes what is pending and returns the first error the output has
// given, if any.
func (w *Writer) Flush() error {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.flushLocked()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// flushLocked writes the pending batch; the caller holds outMu.
func (w *Writer) flushLocked() {
	w.mu.Lock()
	batch := w.pending
	w.pending = w.spare[:0]
	w.mu.Unlock()
	if len(batch) == 0 {
		w.spare = batch
		return
	}
	_, err := w.out.Write(batch)
	w.mu.Lock()
	if err != nil && w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	if cap(batch) <= 4*flushAt { // a burst's huge array is not kept
		w.spare = batch
	} else {
		w.spare = nil
	}
}

// Close stops the periodic flush and writes what is pending. Writes after
// Close go straight to the output.
func (w *Writer) Close() error {
	w.closeOnce.Do(func() {
		if !w.direct.Swap(true) {
			close(w.stop)
			<-w.stopped
		}
	})
	return w.Flush()
}
