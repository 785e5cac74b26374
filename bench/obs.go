package main

// observabilityVariants are the trivial scenario's service configurations
// with observability on; none until the service has it.
func (s *suite) observabilityVariants() []variant { return nil }

// jaegerProc is a live Jaeger receiving the service's spans.
type jaegerProc struct {
	*proc
	env []string // the service's settings to export to it
}

func startJaeger(s *suite) (*jaegerProc, error) { return nil, errNoJaeger }

func (j *jaegerProc) stop() {
	if j != nil {
		j.proc.stop()
	}
}

var errNoJaeger = errorString("no Jaeger: the service has no tracing yet")

type errorString string

func (e errorString) Error() string { return string(e) }
