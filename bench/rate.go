package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Fixed-rate load, safe from coordinated omission: request i is due at
// start + i/rate whether or not earlier ones have answered, and its latency
// is measured from that intended start. A slow answer therefore counts for
// every request it held back, which a closed loop (wrk) hides: wrk waits
// for an answer before sending the next request on that connection, so a
// stall shows up as one slow request instead of many.
//
// Why our own tool rather than wrk2: wrk2 is not packaged by Debian and
// this machine only reaches package registries; the HdrHistogram port and
// a few dozen lines do the same.

// rateOptions shape one fixed-rate run.
type rateOptions struct {
	Rate     float64       // requests per second; 0: closed loop, each worker sends as soon as it has an answer
	Duration time.Duration // how long requests are issued
	Workers  int           // concurrent requests at most (connections)
	Max      int64         // closed loop: stop after this many requests too (0: no limit)
	// Request makes request i.
	Request func(ctx context.Context, i int64) (*http.Request, error)
}

func runRate(ctx context.Context, o rateOptions) (Load, error) {
	if o.Rate < 0 || o.Workers < 1 {
		return Load{}, fmt.Errorf("rate %v with %d workers", o.Rate, o.Workers)
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        o.Workers,
		MaxIdleConnsPerHost: o.Workers,
		MaxConnsPerHost:     o.Workers,
		DisableCompression:  true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	// A job is the intended start time of request i. The queue holds what
	// no worker could take yet; its wait is part of the latency.
	type job struct {
		i        int64
		intended time.Time
	}
	total := int64(o.Rate * o.Duration.Seconds())
	if o.Rate == 0 {
		// Closed loop: a job is handed over only when a worker is free,
		// and "intended" is then simply now.
		total = 1 << 62
	}
	jobs := make(chan job, min(total, 1<<20)+1)
	if o.Rate == 0 {
		jobs = make(chan job)
	}
	var (
		mu        sync.Mutex
		hist      = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		done      int64
		errs      int64
		badStatus int64
		firstErr  error
		wg        sync.WaitGroup
	)
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
			var n, e, bad int64
			var ferr error
			for j := range jobs {
				req, err := o.Request(ctx, j.i)
				if err == nil {
					var resp *http.Response
					resp, err = client.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode >= 400 {
							bad++
							if ferr == nil {
								ferr = fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
							}
						}
					}
				}
				if err != nil {
					e++
					if ferr == nil {
						ferr = err
					}
				}
				_ = h.RecordValue(time.Since(j.intended).Microseconds())
				n++
			}
			mu.Lock()
			hist.Merge(h)
			done += n
			errs += e
			badStatus += bad
			if firstErr == nil {
				firstErr = ferr
			}
			mu.Unlock()
		}()
	}

	// The dispatcher wakes every millisecond and queues every request due
	// by then, each stamped with its own intended time: no timer per
	// request, and no drift from late wake-ups.
	start := time.Now()
	var sent int64
	if o.Rate == 0 {
		deadline := time.NewTimer(o.Duration)
	closed:
		for ; o.Max == 0 || sent < o.Max; sent++ {
			select {
			case <-ctx.Done():
				break closed
			case <-deadline.C:
				break closed
			case jobs <- job{i: sent, intended: time.Now()}:
			}
		}
		total = sent
	}
	interval := time.Duration(float64(time.Second) / max(o.Rate, 1))
	tick := time.NewTicker(time.Millisecond)
dispatch:
	for sent < total {
		select {
		case <-ctx.Done():
			break dispatch
		case now := <-tick.C:
			for ; sent < total; sent++ {
				at := start.Add(time.Duration(sent) * interval)
				if at.After(now) {
					break
				}
				jobs <- job{i: sent, intended: at}
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	secs := time.Since(start).Seconds()
	if ctx.Err() != nil {
		return Load{}, ctx.Err()
	}
	l := Load{Requests: done, Seconds: secs, RPS: float64(done) / secs, Errors: errs, BadStatus: badStatus,
		P50: hist.ValueAtQuantile(50), P90: hist.ValueAtQuantile(90), P99: hist.ValueAtQuantile(99),
		P999: hist.ValueAtQuantile(99.9), Max: hist.Max()}
	if firstErr != nil {
		l.FirstError = firstErr.Error()
	}
	return l, nil
}

// getRequest is a Request func for a fixed GET.
func getRequest(url string) func(context.Context, int64) (*http.Request, error) {
	return func(ctx context.Context, _ int64) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

// postRequest is a Request func for a POST whose JSON body depends on i.
func postRequest(url string, body func(i int64) []byte) func(context.Context, int64) (*http.Request, error) {
	return func(ctx context.Context, i int64) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body(i)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	}
}
