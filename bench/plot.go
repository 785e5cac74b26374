package main

import (
	"fmt"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotData collects what the plots show.
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

// plot writes the PNGs next to results.md.
func (s *suite) plot() error {
	type job struct {
		file string
		make func() (*plot.Plot, error)
	}
	jobs := []job{
		{"throughput.png", s.plotThroughput},
		{"latency.png", func() (*plot.Plot, error) {
			return plotLatency("Closed-loop latency (wrk): service vs its baseline", s.plots.latency)
		}},
		{"latency-fixed-rate.png", func() (*plot.Plot, error) {
			return plotLatency("Latency at a fixed rate (half the maximum)", s.plots.fixedLatency)
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
	if len(s.plots.throughput) == 0 {
		return nil, nil
	}
	p := plot.New()
	p.Title.Text = "Throughput per scenario (median req/s): service vs its baseline"
	p.Y.Label.Text = "requests/s"
	var ours, base plotter.Values
	labels := make([]string, len(s.plots.throughput))
	for i, b := range s.plots.throughput {
		ours = append(ours, b.ours)
		base = append(base, b.base)
		labels[i] = b.label
		if b.baseName != "" {
			labels[i] += "\n(vs " + b.baseName + ")"
		}
	}
	if err := addBars(p, vg.Points(22), []string{"service", "baseline"}, ours, base); err != nil {
		return nil, err
	}
	p.NominalX(labels...)
	return p, nil
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
	if err := addBars(p, vg.Points(9), names, series...); err != nil {
		return nil, err
	}
	p.NominalX(labels...)
	return p, nil
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
