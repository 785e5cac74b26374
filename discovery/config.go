// Package discovery registers this service in a Netflix Eureka server and
// finds other services there, the way py_eureka_client did for the FastAPI
// original.
//
// The wire calls go through github.com/ArthurHlt/go-eureka-client; the
// lifecycle (when to register, renew, change status, retry and deregister) and
// the client-side registry cache are ours, because the library only sends
// requests.
package discovery

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by LoadConfig.
const (
	EnvURL                   = "EUREKA_URL"
	EnvAppName               = "EUREKA_APP_NAME"
	EnvVipAddress            = "EUREKA_VIP_ADDRESS"
	EnvAppAliases            = "EUREKA_APP_ALIASES"
	EnvInstanceHostname      = "EUREKA_INSTANCE_HOSTNAME"
	EnvInstanceIP            = "EUREKA_INSTANCE_IP"
	EnvPreferIPAddress       = "EUREKA_PREFER_IP_ADDRESS"
	EnvRenewalInterval       = "EUREKA_LEASE_RENEWAL_INTERVAL_SECONDS"
	EnvLeaseDuration         = "EUREKA_LEASE_DURATION_SECONDS"
	EnvRegistryFetchInterval = "EUREKA_REGISTRY_FETCH_INTERVAL_SECONDS"
	EnvStatusCheckInterval   = "EUREKA_STATUS_CHECK_INTERVAL_SECONDS"
	EnvRetryMaxBackoff       = "EUREKA_RETRY_MAX_BACKOFF_SECONDS"
	EnvRequestTimeout        = "EUREKA_REQUEST_TIMEOUT_SECONDS"
	EnvLoadBalancer          = "EUREKA_LOAD_BALANCER"
)

// Defaults are Eureka's own (and py_eureka_client's), so an operator who knows
// Spring Cloud finds the same behaviour.
//
// The app name has a hyphen, not the book's underscore: Spring Cloud looks a
// service up by its vipAddress and uses that name as the host of the URL it
// calls (http://sports-service/info), and a host name cannot hold an
// underscore. py_eureka_client looks up the upper-cased app name, so
// do_service("sports-service", ...) finds it too. The book's name is kept as
// an alias registration (DefaultAppAliases) for its py_eureka_client code.
const (
	DefaultAppName               = "SPORTS-SERVICE"
	DefaultAppAliases            = "SPORTS_SERVICE"
	DefaultRenewalInterval       = 30 * time.Second
	DefaultLeaseDuration         = 90 * time.Second
	DefaultRegistryFetchInterval = 30 * time.Second
	DefaultStatusCheckInterval   = 10 * time.Second
	DefaultRetryMaxBackoff       = 30 * time.Second
	DefaultRequestTimeout        = 5 * time.Second
)

// LoadBalancer names how a caller picks among the UP instances of an app.
type LoadBalancer string

// The load balancers that EUREKA_LOAD_BALANCER accepts.
const (
	RoundRobin LoadBalancer = "round-robin"
	Random     LoadBalancer = "random"
)

// Config says where Eureka is and how this instance presents itself there.
// The zero value of ServerURLs means discovery is disabled.
type Config struct {
	// ServerURLs are Eureka's service URLs ending in /eureka, tried in turn
	// like Spring's defaultZone list.
	ServerURLs []string
	// AppName is the Eureka application name, upper case as Eureka shows it.
	AppName string
	// VipAddress is the name Spring Cloud clients look the service up by
	// (vipAddress and secureVipAddress); empty means AppName in lower case.
	VipAddress string
	// Aliases are further app names under which the same instance is
	// registered, each with its lower-cased name as vipAddress, so that
	// clients of an older name still find it.
	Aliases []string
	// InstanceHost and InstanceIP are what other services use to reach us.
	InstanceHost string
	InstanceIP   string
	// PreferIPAddress makes us advertise and call instances by IP instead
	// of host name, like Spring's eureka.instance.prefer-ip-address.
	PreferIPAddress bool
	// Port is the HTTP port this service listens on.
	Port int

	RenewalInterval       time.Duration
	LeaseDuration         time.Duration
	RegistryFetchInterval time.Duration
	// StatusCheckInterval is how often readiness is looked at to keep the
	// instance's UP/DOWN status in Eureka current.
	StatusCheckInterval time.Duration
	// RetryMaxBackoff caps the delay between registration attempts while no
	// Eureka server answers.
	RetryMaxBackoff time.Duration
	// RequestTimeout bounds one request to one Eureka server.
	RequestTimeout time.Duration
	LoadBalancer   LoadBalancer
}

// Enabled reports whether a Eureka server is configured at all.
func (c Config) Enabled() bool { return len(c.ServerURLs) > 0 }

// InstanceID is Eureka's key for this instance, host:app:port with the app
// name in lower case, as Spring Cloud and py_eureka_client build it.
func (c Config) InstanceID() string {
	return fmt.Sprintf("%s:%s:%d", c.AdvertisedHost(), strings.ToLower(c.AppName), c.Port)
}

// VIP is the vipAddress (and secureVipAddress) registered.
func (c Config) VIP() string {
	if c.VipAddress != "" {
		return c.VipAddress
	}
	return strings.ToLower(c.AppName)
}

// Registrations returns one Config per registration of this instance: this
// one first, then one per alias (with the alias as app name and its lower
// case as vipAddress). They share host, port, URLs and intervals.
func (c Config) Registrations() []Config {
	out := []Config{c}
	out[0].Aliases = nil
	for _, alias := range c.Aliases {
		a := c
		a.AppName, a.VipAddress, a.Aliases = alias, "", nil
		out = append(out, a)
	}
	return out
}

// AdvertisedHost is the host other services are told to call: the IP when
// PreferIPAddress is set, else the host name (each falling back to the
// other, so an instance id never starts with an empty host).
func (c Config) AdvertisedHost() string {
	if c.PreferIPAddress && c.InstanceIP != "" || c.InstanceHost == "" {
		return c.InstanceIP
	}
	return c.InstanceHost
}

// NoAliases is the EUREKA_APP_ALIASES value that registers no alias.
const NoAliases = "none"

// validName is what an app name or vipAddress may hold: it becomes a path
// segment of Eureka's REST API and, for Spring clients, a host name.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

const nameRule = "must be 1 to 100 letters, digits, '-', '_' or '.', starting with a letter or digit"

// ErrInvalidConfig is wrapped by every error LoadConfig and Validate return.
var ErrInvalidConfig = errors.New("invalid discovery configuration")

// ConfigError names the variable that is wrong and the rule it breaks.
type ConfigError struct {
	Variable string
	Value    string
	Rule     string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s=%q: %s", e.Variable, e.Value, e.Rule)
}

// Unwrap lets callers test for ErrInvalidConfig with errors.Is.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// LoadConfig reads the EUREKA_* variables through getenv. port is the port
// the HTTP server listens on. An empty EUREKA_URL yields a disabled Config
// and no error, so the service runs without a registry.
func LoadConfig(getenv func(string) string, port int) (Config, error) {
	cfg := Config{
		AppName:               DefaultAppName,
		Aliases:               []string{DefaultAppAliases},
		Port:                  port,
		RenewalInterval:       DefaultRenewalInterval,
		LeaseDuration:         DefaultLeaseDuration,
		RegistryFetchInterval: DefaultRegistryFetchInterval,
		StatusCheckInterval:   DefaultStatusCheckInterval,
		RetryMaxBackoff:       DefaultRetryMaxBackoff,
		RequestTimeout:        DefaultRequestTimeout,
		LoadBalancer:          RoundRobin,
	}
	var errs []error

	if raw := strings.TrimSpace(getenv(EnvURL)); raw != "" {
		for u := range strings.SplitSeq(raw, ",") {
			u = strings.TrimSpace(u)
			if u == "" {
				continue
			}
			parsed, err := url.Parse(u)
			if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
				errs = append(errs, &ConfigError{EnvURL, raw, "must be a comma-separated list of http(s) URLs such as http://registry:8761/eureka/"})
				break
			}
			// The library joins paths with "/", so a trailing slash would
			// give "//apps".
			cfg.ServerURLs = append(cfg.ServerURLs, strings.TrimRight(u, "/"))
		}
	}
	if v := strings.TrimSpace(getenv(EnvAppName)); v != "" {
		cfg.AppName = strings.ToUpper(v)
	}
	cfg.VipAddress = strings.TrimSpace(getenv(EnvVipAddress))
	if v := strings.TrimSpace(getenv(EnvAppAliases)); v != "" {
		cfg.Aliases = nil
		if !strings.EqualFold(v, NoAliases) {
			for a := range strings.SplitSeq(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					cfg.Aliases = append(cfg.Aliases, strings.ToUpper(a))
				}
			}
		}
	}
	cfg.InstanceHost = strings.TrimSpace(getenv(EnvInstanceHostname))
	cfg.InstanceIP = strings.TrimSpace(getenv(EnvInstanceIP))
	if cfg.InstanceIP != "" && net.ParseIP(cfg.InstanceIP) == nil {
		errs = append(errs, &ConfigError{EnvInstanceIP, cfg.InstanceIP, "must be an IP address"})
	}
	if v := strings.TrimSpace(getenv(EnvPreferIPAddress)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, &ConfigError{EnvPreferIPAddress, v, "must be true or false"})
		}
		cfg.PreferIPAddress = b
	}

	seconds := []struct {
		name string
		dst  *time.Duration
	}{
		{EnvRenewalInterval, &cfg.RenewalInterval},
		{EnvLeaseDuration, &cfg.LeaseDuration},
		{EnvRegistryFetchInterval, &cfg.RegistryFetchInterval},
		{EnvStatusCheckInterval, &cfg.StatusCheckInterval},
		{EnvRetryMaxBackoff, &cfg.RetryMaxBackoff},
		{EnvRequestTimeout, &cfg.RequestTimeout},
	}
	for _, s := range seconds {
		v := strings.TrimSpace(getenv(s.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, &ConfigError{s.name, v, "must be a whole number of seconds, at least 1"})
			continue
		}
		*s.dst = time.Duration(n) * time.Second
	}
	if v := strings.TrimSpace(getenv(EnvLoadBalancer)); v != "" {
		cfg.LoadBalancer = LoadBalancer(strings.ToLower(v))
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if !cfg.Enabled() {
		return cfg, nil
	}
	// Only an enabled config needs an address; a developer's `go run .`
	// must not fail because the machine has no network.
	if err := cfg.detectInstanceAddress(); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the rules that LoadConfig enforces, for a Config built in
// code (tests, other wiring).
func (c Config) Validate() error {
	var errs []error
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, &ConfigError{"port", strconv.Itoa(c.Port), "must be between 1 and 65535"})
	}
	if !validName.MatchString(c.AppName) {
		errs = append(errs, &ConfigError{EnvAppName, c.AppName, nameRule})
	}
	if c.VipAddress != "" && !validName.MatchString(c.VipAddress) {
		errs = append(errs, &ConfigError{EnvVipAddress, c.VipAddress, nameRule})
	}
	seen := map[string]bool{strings.ToUpper(c.AppName): true}
	for _, a := range c.Aliases {
		switch {
		case !validName.MatchString(a):
			errs = append(errs, &ConfigError{EnvAppAliases, a, nameRule + ", or " + NoAliases})
		case seen[strings.ToUpper(a)]:
			errs = append(errs, &ConfigError{EnvAppAliases, a, "must differ from " + EnvAppName + " and from each other"})
		}
		seen[strings.ToUpper(a)] = true
	}
	if c.Enabled() && (c.InstanceHost == "" || c.InstanceIP == "") {
		errs = append(errs, &ConfigError{EnvInstanceHostname + "/" + EnvInstanceIP, c.InstanceHost + "/" + c.InstanceIP, "host name and IP must both be known"})
	}
	positive := []struct {
		name string
		d    time.Duration
	}{
		{EnvRenewalInterval, c.RenewalInterval},
		{EnvLeaseDuration, c.LeaseDuration},
		{EnvRegistryFetchInterval, c.RegistryFetchInterval},
		{EnvStatusCheckInterval, c.StatusCheckInterval},
		{EnvRetryMaxBackoff, c.RetryMaxBackoff},
		{EnvRequestTimeout, c.RequestTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, &ConfigError{p.name, p.d.String(), "must be positive"})
		}
	}
	// Eureka evicts an instance whose lease ran out; a lease no longer than
	// the renewal interval would expire between two heartbeats.
	if c.LeaseDuration <= c.RenewalInterval {
		errs = append(errs, &ConfigError{EnvLeaseDuration, c.LeaseDuration.String(), "must be longer than " + EnvRenewalInterval + " (" + c.RenewalInterval.String() + ")"})
	}
	if c.LoadBalancer != RoundRobin && c.LoadBalancer != Random {
		errs = append(errs, &ConfigError{EnvLoadBalancer, string(c.LoadBalancer), "must be round-robin or random"})
	}
	return errors.Join(errs...)
}

// detectInstanceAddress fills in the host name and IP that were not
// configured: the IP of the first non-loopback interface that is up, and the
// machine's host name (no reverse DNS lookup, which can hang where there is
// no DNS).
func (c *Config) detectInstanceAddress() error {
	if c.InstanceIP == "" {
		ip, err := firstNonLoopbackIP()
		if err != nil {
			return &ConfigError{EnvInstanceIP, "", "not set and could not be detected: " + err.Error()}
		}
		c.InstanceIP = ip
	}
	if c.InstanceHost == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = c.InstanceIP
		}
		c.InstanceHost = host
	}
	return nil
}

// firstNonLoopbackIP prefers IPv4, as Spring's InetUtils does, and falls back
// to a global IPv6 address.
func firstNonLoopbackIP() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("list network interfaces: %w", err)
	}
	var v6 string
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipNet, ok := a.(*net.IPNet)
			if !ok || ipNet.IP.IsLoopback() || !ipNet.IP.IsGlobalUnicast() {
				continue
			}
			if ip4 := ipNet.IP.To4(); ip4 != nil {
				return ip4.String(), nil
			}
			if v6 == "" {
				v6 = ipNet.IP.String()
			}
		}
	}
	if v6 != "" {
		return v6, nil
	}
	return "", errors.New("no non-loopback interface is up")
}
