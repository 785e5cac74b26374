package main

// plotData collects what the plots show.
type plotData struct {
	throughput  []bar
	latency     []latencyBars
	rss         []rssPoint
	listLatency []rssPoint
}

// bar is one scenario's throughput, ours against its baseline.
type bar struct {
	label, baseName string
	ours, base      float64
}

type latencyBars struct {
	label      string
	ours, base Load
}

// rssPoint is one point of a curve against the collection size.
type rssPoint struct {
	series string
	n      int
	rss    int64
}

func (s *suite) plot() error { return nil }
