package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an output that keeps each Write separately.
type recorder struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), r.err
}

func (r *recorder) snapshot() (writes int, all string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.writes), strings.Join(r.writes, "")
}

// An hour-long interval keeps the ticker out of these tests: what they see
// is Write's and Flush's doing.
const never = time.Hour

func TestBatchesUntilFlush(t *testing.T) {
	out := &recorder{}
	w := New(out, never)
	defer w.Close()
	var want strings.Builder
	for i := range 10 {
		line := fmt.Sprintf("{\"n\":%d}\n", i)
		want.WriteString(line)
		if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if n, _ := out.snapshot(); n != 0 {
		t.Fatalf("%d writes reached the output before a flush was due", n)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, all := out.snapshot(); n != 1 || all != want.String() {
		t.Errorf("after Flush: %d writes %q, want one write of the 10 lines in order", n, all)
	}
}

func TestWritesWhenFull(t *testing.T) {
	out := &recorder{}
	w := New(out, never)
	defer w.Close()
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range flushAt / len(line) {
		_, _ = w.Write(line)
	}
	if n, all := out.snapshot(); n != 1 || len(all) != flushAt {
		t.Errorf("%d writes of %d bytes in all once %d bytes were pending, want one of %d", n, len(all), flushAt, flushAt)
	}
}

func TestPeriodicFlush(t *testing.T) {
	out := &recorder{}
	w := New(out, 10*time.Millisecond)
	defer w.Close()
	_, _ = w.Write([]byte("line\n"))
	// No flush is asked for: the ticker must deliver it (a minute is a
	// hang, not a timing assertion).
	deadline := time.Now().Add(time.Minute)
	for {
		if _, all := out.snapshot(); all == "line\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the line never reached the output")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Concurrent writers' lines arrive whole and, per writer, in order.
func TestConcurrentLinesStayWhole(t *testing.T) {
	for _, interval := range []time.Duration{0, time.Millisecond, never} {
		t.Run(interval.String(), func(t *testing.T) {
			out := &recorder{}
			w := New(out, interval)
			const writers, lines = 8, 2000
			var wg sync.WaitGroup
			for g := range writers {
				wg.Go(func() {
					for i := range lines {
						_, _ = fmt.Fprintf(w, "w%d %05d %s\n", g, i, strings.Repeat("y", g*10+1))
					}
				})
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			_, all := out.snapshot()
			next := make([]int, writers)
			got := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
			for _, l := range got {
				var g, i int
				var pad string
				if _, err := fmt.Sscanf(l, "w%d %d %s", &g, &i, &pad); err != nil || g >= writers || i != next[g] || len(pad) != g*10+1 {
					t.Fatalf("line %q: torn or out of order (writer %d expected line %d)", l, g, next[g])
				}
				next[g]++
			}
			if len(got) != writers*lines {
				t.Errorf("%d lines arrived, want %d", len(got), writers*lines)
			}
		})
	}
}

// blockingOutput holds every Write until released.
type blockingOutput struct {
	recorder
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingOutput) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.recorder.Write(p)
}

// When the output blocks, memory stays bounded: writers wait instead of
// queueing without end, and nothing is lost once the output moves again.
func TestBoundedWhenOutputBlocks(t *testing.T) {
	out := &blockingOutput{entered: make(chan struct{}), release: make(chan struct{})}
	w := New(out, never)
	line := []byte(strings.Repeat("z", 1023) + "\n")
	const total = 3 * maxPending / 1024
	// A flush gets stuck in the output, holding it.
	_, _ = w.Write(line)
	go func() { _ = w.Flush() }()
	<-out.entered
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total - 1 {
			_, _ = w.Write(line)
		}
	}()
	for range 50 {
		w.mu.Lock()
		pending := len(w.pending)
		w.mu.Unlock()
		if pending > maxPending+len(line) {
			t.Fatalf("%d bytes pending while the output blocks, bound %d", pending, maxPending)
		}
		select {
		case <-done:
			t.Fatal("all writes returned while the output was blocked: nothing bounds the buffer")
		case <-time.After(2 * time.Millisecond):
		}
	}
	close(out.release)
	<-done
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, all := out.snapshot(); len(all) != total*len(line) {
		t.Errorf("%d bytes arrived, want %d", len(all), total*len(line))
	}
}

func TestFlushReportsOutputError(t *testing.T) {
	boom := errors.New("disk full")
	out := &recorder{err: boom}
	w := New(out, never)
	_, _ = w.Write([]byte("a\n"))
	if err := w.Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want %v", err, boom)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close = %v, want %v", err, boom)
	}
}

func TestAfterCloseWritesGoStraightOut(t *testing.T) {
	var out bytes.Buffer
	w := New(&out, never)
	_, _ = w.Write([]byte("before\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("after\n"))
	if out.String() != "before\nafter\n" {
		t.Errorf("output %q", out.String())
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
