package telemetry

import "github.com/osms/sports-service/config"

// Variables lists every variable LoadConfig reads, with the value that
// .env.example gives it: the default where setting it explicitly changes
// nothing, empty where an explicit value would change the behaviour (the
// Jaeger collector endpoint selects collector mode; the OTLP endpoint's
// default depends on the protocol).
func Variables() []config.Variable {
	return []config.Variable{
		{Name: EnvTracingExporter, Help: "span exporter: none, stdout, jaeger or otlp (wins over OTEL_TRACES_EXPORTER); empty: none"},
		{Name: EnvTracesExporter, Help: "the OpenTelemetry name for the same choice"},
		{Name: EnvServiceName, Default: DefaultServiceName, Help: "service.name of the spans"},
		{Name: EnvResourceAttributes, Help: "extra resource attributes, key=value,..."},
		{Name: EnvSampler, Default: SamplerParentBasedAlwaysOn, Help: "always_on, always_off, traceidratio or their parentbased_ forms"},
		{Name: EnvSamplerArg, Default: "1", Help: "sampling ratio 0..1 for the traceidratio samplers"},
		{Name: EnvJaegerMode, Help: "agent (UDP 6831) or collector (HTTP 14268); empty: agent unless a collector endpoint is set"},
		{Name: EnvJaegerAgentEndpoint, Help: "host:port of the Jaeger agent; empty: " + DefaultJaegerAgentEndpoint},
		{Name: EnvJaegerCollectorEndpoint, Help: "URL of the Jaeger collector; empty: " + DefaultJaegerCollectorEndpoint},
		{Name: EnvOTLPProtocol, Default: OTLPProtocolHTTP, Help: "grpc or http/protobuf"},
		{Name: EnvOTLPTracesProtocol, Help: "the same for traces only (wins)"},
		{Name: EnvOTLPEndpoint, Help: "OTLP endpoint URL; empty: " + DefaultOTLPHTTPEndpoint + " (http) or " + DefaultOTLPGRPCEndpoint + " (grpc)"},
		{Name: EnvOTLPTracesEndpoint, Help: "full OTLP traces URL (wins)"},
		{Name: EnvBSPMaxQueueSize, Default: "2048", Help: "spans held for export; more are dropped"},
		{Name: EnvBSPMaxExportBatchSize, Default: "512", Help: "spans per export"},
		{Name: EnvBSPScheduleDelay, Default: "5000", Help: "milliseconds between exports"},
		{Name: EnvBSPExportTimeout, Default: "10000", Help: "milliseconds allowed for one export"},
	}
}
