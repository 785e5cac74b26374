package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// table is one scenario's results, as markdown and JSON.
type table struct {
	ID     string     `json:"id"`
	Title  string     `json:"title"`
	Note   string     `json:"note,omitempty"`
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
	// Runs keeps every run's raw figures, for those who doubt a median.
	Runs map[string][]Load `json:"runs,omitempty"`
}

func (s *suite) addTable(t *table) *table {
	s.tables = append(s.tables, t)
	return t
}

func (t *table) row(cells ...string) { t.Rows = append(t.Rows, cells) }

func (t *table) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "## %s\n\n", t.Title)
	if t.Note != "" {
		fmt.Fprintf(b, "%s\n\n", t.Note)
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(t.Header, " | "), strings.Repeat("---|", len(t.Header)))
	for _, r := range t.Rows {
		fmt.Fprintf(b, "| %s |\n", strings.Join(r, " | "))
	}
	b.WriteString("\n")
}

// median returns each figure's median over runs, taken figure by figure.
func median(runs []Load) Load {
	if len(runs) == 0 {
		return Load{}
	}
	mi := func(f func(Load) int64) int64 {
		v := make([]int64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	mf := func(f func(Load) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return Load{
		Requests:  mi(func(l Load) int64 { return l.Requests }),
		Seconds:   mf(func(l Load) float64 { return l.Seconds }),
		RPS:       mf(func(l Load) float64 { return l.RPS }),
		Errors:    mi(func(l Load) int64 { return l.Errors }),
		BadStatus: mi(func(l Load) int64 { return l.BadStatus }),
		P50:       mi(func(l Load) int64 { return l.P50 }),
		P90:       mi(func(l Load) int64 { return l.P90 }),
		P99:       mi(func(l Load) int64 { return l.P99 }),
		P999:      mi(func(l Load) int64 { return l.P999 }),
		Max:       mi(func(l Load) int64 { return l.Max }),
	}
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func rps(v float64) string { return fmt.Sprintf("%.0f", v) }

// us formats microseconds as milliseconds.
func us(v int64) string { return fmt.Sprintf("%.2f", float64(v)/1000) }

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

func mb(v int64) string { return fmt.Sprintf("%.1f", float64(v)/(1<<20)) }

// cpuPer1k is CPU milliseconds per 1,000 requests.
func cpuPer1k(cpu time.Duration, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return float64(cpu) / float64(time.Millisecond) * 1000 / float64(requests)
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

func numCPU() int { return runtime.NumCPU() }

// ratio guards against a zero baseline in smoke runs.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// verdict says whether a target is met, for the tables.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
