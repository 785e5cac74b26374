package main

import (
	"context"
	"fmt"
)

// side accumulates one side of a paired comparison: the loads, and the CPU
// and peak RSS of the process that served them.
type side struct {
	loads   []Load
	cpu     []float64 // CPU ms per 1,000 requests, one a run
	peakRSS int64
}

func (sd *side) add(l Load, u Usage) {
	sd.loads = append(sd.loads, l)
	sd.cpu = append(sd.cpu, cpuPer1k(u.CPU, l.Requests))
	sd.peakRSS = max(sd.peakRSS, u.PeakRSS)
}

func (sd *side) last() Load { return sd.loads[len(sd.loads)-1] }

// wrkSide runs wrk while measuring the process pid, refuses a run with
// errors, and adds it to sd.
func wrkSide(ctx context.Context, s *suite, pid int, o wrkOptions, sd *side) error {
	u := measure(pid)
	l, err := runWrk(ctx, s.out, o)
	us := u.done()
	if err != nil {
		return err
	}
	if l.Errors+l.BadStatus > 0 {
		return fmt.Errorf("wrk %s: %d socket errors, %d bad statuses", o.URL, l.Errors, l.BadStatus)
	}
	sd.add(l, us)
	return nil
}

// alternate runs a then b on even runs and b then a on odd ones, so that a
// drift of the machine (another tenant, a warming cache) favours neither.
func alternate(run int, a, b func() error) error {
	if run%2 == 1 {
		a, b = b, a
	}
	if err := a(); err != nil {
		return err
	}
	return b()
}

// pairedRatio is the median over runs of ours/base throughput, each run
// paired with the baseline run next to it: steadier than the ratio of the
// medians on a machine whose speed drifts.
func pairedRatio(ours, base []Load) float64 {
	r := make([]float64, 0, len(ours))
	for i := range min(len(ours), len(base)) {
		r = append(r, ratio(ours[i].RPS, base[i].RPS))
	}
	return medianF(r)
}
