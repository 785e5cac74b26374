package discovery

import (
	"strconv"
	"time"

	"github.com/osms/sports-service/config"
)

// Variables lists every variable LoadConfig reads, with the value that
// .env.example gives it (empty where the default is computed: the host name
// and IP are looked up).
func Variables() []config.Variable {
	seconds := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	return []config.Variable{
		{Name: EnvURL, Help: "Eureka server URLs, comma-separated; empty disables registration and discovery"},
		{Name: EnvAppName, Default: DefaultAppName, Help: "application name in the registry (Spring Cloud needs a name without '_': it becomes a host name)"},
		{Name: EnvVipAddress, Help: "vipAddress and secureVipAddress, the name Spring Cloud clients call; empty: the app name in lower case"},
		{Name: EnvAppAliases, Default: DefaultAppAliases, Help: "further app names the same instance registers under (vip: the name in lower case), comma-separated, for the book's clients; " + NoAliases + ": none"},
		{Name: EnvInstanceHostname, Help: "host name advertised to other services; empty: this host's"},
		{Name: EnvInstanceIP, Help: "IP advertised to other services; empty: this host's"},
		{Name: EnvPreferIPAddress, Help: "true: advertise and call instances by IP"},
		{Name: EnvRenewalInterval, Default: seconds(DefaultRenewalInterval), Help: "heartbeat interval"},
		{Name: EnvLeaseDuration, Default: seconds(DefaultLeaseDuration), Help: "lease the registry grants without a heartbeat"},
		{Name: EnvRegistryFetchInterval, Default: seconds(DefaultRegistryFetchInterval), Help: "how often the registry is fetched for discovery"},
		{Name: EnvStatusCheckInterval, Default: seconds(DefaultStatusCheckInterval), Help: "how often readiness updates the UP/DOWN status"},
		{Name: EnvRetryMaxBackoff, Default: seconds(DefaultRetryMaxBackoff), Help: "longest wait between registration attempts"},
		{Name: EnvRequestTimeout, Default: seconds(DefaultRequestTimeout), Help: "deadline of one request to a Eureka server"},
		{Name: EnvLoadBalancer, Default: string(RoundRobin), Help: "round-robin or random"},
	}
}
