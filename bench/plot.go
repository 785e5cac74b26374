package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotData collects what the plots show.
// It is saved in plots.json, so that -replot can draw the PNGs again
// without measuring again.
type plotData struct {
	throughput []bar
	latency    []latencyBars
	// fixedLatency: fixed-rate runs (trivial route, create).
	fixedLatency []latencyBars
	rss          []rssPoint
	listLatency  []rssPoint
}

// bar is one scenario's throughput, ours against its baseline (base 0: none).
type bar struct {
	label, baseName string
	ours, base      float64
}

type latencyBars struct {
	label      string
	ours, base Load
}

// rssPoint is one point of a curve against the collection size; rss holds
// bytes for memory curves and microseconds for latency curves.
type rssPoint struct {
	series string
	n      int
	rss    int64
}

// The JSON forms of the plot data.
type (
	barJSON struct {
		Label, BaseName string
		Ours, Base      float64
	}
	latencyJSON struct {
		Label      string
		Ours, Base Load
	}
	pointJSON struct {
		Series string
		N      int
		Value  int64
	}
	plotsJSON struct {
		Throughput            []barJSON
		Latency, FixedLatency []latencyJSON
		RSS, ListLatency      []pointJSON
	}
)

func (d plotData) MarshalJSON() ([]byte, error) {
	var j plotsJSON
	for _, b := range d.throughput {
		j.Throughput = append(j.Throughput, barJSON{b.label, b.baseName, b.ours, b.base})
	}
	for _, l := range d.latency {
		j.Latency = append(j.Latency, latencyJSON{l.label, l.ours, l.base})
	}
	for _, l := range d.fixedLatency {
		j.FixedLatency = append(j.FixedLatency, latencyJSON{l.label, l.ours, l.base})
	}
	for _, p := range d.rss {
		j.RSS = append(j.RSS, pointJSON{p.series, p.n, p.rss})
	}
	for _, p := range d.listLatency {
		j.ListLatency = append(j.ListLatency, pointJSON{p.series, p.n, p.rss})
	}
	return json.Marshal(j)
}

func (d *plotData) UnmarshalJSON(data []byte) error {
	var j plotsJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*d = plotData{}
	for _, b := range j.Throughput {
		d.throughput = append(d.throughput, bar{b.Label, b.BaseName, b.Ours, b.Base})
	}
	for _, l := range j.Latency {
		d.latency = append(d.latency, latencyBars{l.Label, l.Ours, l.Base})
	}
	for _, l := range j.FixedLatency {
		d.fixedLatency = append(d.fixedLatency, latencyBars{l.Label, l.Ours, l.Base})
	}
	for _, p := range j.RSS {
		d.rss = append(d.rss, rssPoint{p.Series, p.N, p.Value})
	}
	for _, p := range j.ListLatency {
		d.listLatency = append(d.listLatency, rssPoint{p.Series, p.N, p.Value})
	}
	return nil
}

// replot draws the PNGs of a previous run from its plots.json.
func (s *suite) replot() error {
	data, err := os.ReadFile(filepath.Join(s.out, "plots.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &s.plots); err != nil {
		return fmt.Errorf("plots.json: %w", err)
	}
	return s.plot()
}

// plot writes the PNGs next to results.md.
func (s *suite) plot() error {
	type job struct {
		file string
		make func() (*plot.Plot, error)
	}
	jobs := []job{
		{"throughput.png", s.plotThroughput},
		// Apart: list/all's hundreds of ms would flatten the trivial route.
		{"latency-trivial.png", func() (*plot.Plot, error) {
			return plotLatency("Trivial route, closed loop (wrk): service vs bare Gin", withPrefix(s.plots.latency, "trivial", true))
		}},
		{"latency-db.png", func() (*plot.Plot, error) {
			return plotLatency("Database routes, closed loop (wrk): service vs the driver ceiling", withPrefix(s.plots.latency, "trivial", false))
		}},
		{"latency-fixed-rate.png", func() (*plot.Plot, error) {
			return plotLatency("Trivial route at a fixed rate (half the maximum): service vs bare Gin", withBaseline(s.plots.fixedLatency, true))
		}},
		// Apart: create's seconds would flatten the trivial route's milliseconds.
		{"latency-create.png", func() (*plot.Plot, error) {
			return plotLatency("Create at a fixed rate (half the maximum)", withBaseline(s.plots.fixedLatency, false))
		}},
		{"rss-vs-size.png", func() (*plot.Plot, error) {
			return plotCurves("Peak RSS while streaming list/all", "MB", s.plots.rss, 1<<20)
		}},
		{"list-latency-vs-size.png", func() (*plot.Plot, error) {
			return plotCurves("list/all: time to the last byte (one client)", "ms", s.plots.listLatency, 1000)
		}},
	}
	for _, j := range jobs {
		p, err := j.make()
		if err != nil {
			return fmt.Errorf("%s: %w", j.file, err)
		}
		if p == nil {
			continue // nothing measured for it
		}
		if err := p.Save(11*vg.Inch, 5.5*vg.Inch, filepath.Join(s.out, j.file)); err != nil {
			return fmt.Errorf("%s: %w", j.file, err)
		}
	}
	return nil
}

func (s *suite) plotThroughput() (*plot.Plot, error) {
	// One bar per scenario: the service's throughput as a percentage of its
	// baseline's, which puts 60,000 req/s routes and 100 req/s routes on one
	// scale; the labels carry the absolute figures.
	var vals plotter.Values
	var labels []string
	for _, b := range s.plots.throughput {
		if b.base == 0 {
			continue
		}
		vals = append(vals, 100*b.ours/b.base)
		labels = append(labels, fmt.Sprintf("%s\n%s / %s", b.label, kilo(b.ours), kilo(b.base)))
	}
	if len(vals) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Throughput: service as % of its baseline (median req/s, service / baseline, under each bar)"
	p.Y.Label.Text = "% of baseline"
	p.Y.Min, p.Y.Max = 0, 110
	b, err := plotter.NewBarChart(vals, vg.Points(30))
	if err != nil {
		return nil, err
	}
	b.LineStyle.Width = 0
	b.Color = plotutil.Color(0)
	p.Add(b)
	for _, target := range []float64{85, 75} {
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: target}, {X: float64(len(vals)) - 0.5, Y: target}})
		if err != nil {
			return nil, err
		}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("target %.0f%%", target), l)
	}
	p.Legend.Top = true
	p.NominalX(labels...)
	return p, nil
}

// kilo formats a rate compactly for a label.
func kilo(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1fk", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}

func plotLatency(title string, rows []latencyBars) (*plot.Plot, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "ms"
	series := make([]plotter.Values, 6)
	labels := make([]string, len(rows))
	for i, r := range rows {
		labels[i] = r.label
		for k, v := range []int64{r.ours.P50, r.ours.P99, r.ours.P999, r.base.P50, r.base.P99, r.base.P999} {
			series[k] = append(series[k], float64(v)/1000)
		}
	}
	names := []string{"service p50", "service p99", "service p99.9", "baseline p50", "baseline p99", "baseline p99.9"}
	if len(withBaseline(rows, true)) == 0 {
		series, names = series[:3], names[:3]
	}
	if err := addBars(p, vg.Points(9), names, series...); err != nil {
		return nil, err
	}
	p.NominalX(labels...)
	return p, nil
}

// withPrefix keeps the rows whose label starts (or does not) with prefix.
func withPrefix(rows []latencyBars, prefix string, has bool) []latencyBars {
	var out []latencyBars
	for _, r := range rows {
		if strings.HasPrefix(r.label, prefix) == has {
			out = append(out, r)
		}
	}
	return out
}

// withBaseline keeps the rows that have (or lack) a baseline.
func withBaseline(rows []latencyBars, has bool) []latencyBars {
	var out []latencyBars
	for _, r := range rows {
		if (r.base.Requests > 0) == has {
			out = append(out, r)
		}
	}
	return out
}

// addBars adds side-by-side bar series centred on each nominal x.
func addBars(p *plot.Plot, w vg.Length, names []string, series ...plotter.Values) error {
	n := len(series)
	for i, vals := range series {
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.LineStyle.Width = 0
		b.Color = plotutil.Color(i)
		b.Offset = w * vg.Length(2*i-n+1) / 2
		p.Add(b)
		p.Legend.Add(names[i], b)
	}
	p.Legend.Top = true
	return nil
}

// plotCurves draws one line per series against the number of players, both
// axes logarithmic.
func plotCurves(title, unit string, points []rssPoint, div float64) (*plot.Plot, error) {
	if len(points) == 0 {
		return nil, nil
	}
	bySeries := map[string]plotter.XYs{}
	var names []string
	for _, pt := range points {
		if _, ok := bySeries[pt.series]; !ok {
			names = append(names, pt.series)
		}
		bySeries[pt.series] = append(bySeries[pt.series], plotter.XY{X: float64(pt.n), Y: max(float64(pt.rss)/div, 0.01)})
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "players"
	p.Y.Label.Text = unit
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	if unit == "ms" {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	} else {
		p.Y.Min = 0
	}
	for i, name := range names {
		xys := bySeries[name]
		sort.Slice(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		l.Color, pts.Color = plotutil.Color(i), plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(l, pts)
		p.Legend.Add(name, l, pts)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}
