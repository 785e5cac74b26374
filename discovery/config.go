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
	"github.com/osms/sports-service/config"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Environment variables read by LoadConfig (the settings struct's tags).
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

// ErrInvalidConfig is wrapped by every error LoadConfig and Validate return:
// it is the configuration's ErrInvalid, so one errors.Is covers every setting.
var ErrInvalidConfig = config.ErrInvalid

// ConfigError names the variable that is wrong and the rule it breaks, in the
// wording of every other setting.
type ConfigError = config.Problem

func problem(variable, value, rule string) *ConfigError {
	return &ConfigError{Variable: variable, Value: value, Rule: rule}
}

// settings are the EUREKA_* variables as given; LoadConfig derives Config
// from them (upper-cased names, seconds as durations, "none" aliases).
type settings struct {
	URLs         []string     `env:"EUREKA_URL" validate:"dive,httpurl" help:"Eureka server URLs, comma-separated; empty disables registration and discovery"`
	AppName      string       `env:"EUREKA_APP_NAME" envDefault:"SPORTS-SERVICE" help:"application name in the registry (Spring Cloud needs a name without '_': it becomes a host name)"`
	VipAddress   string       `env:"EUREKA_VIP_ADDRESS" help:"vipAddress and secureVipAddress, the name Spring Cloud clients call; empty: the app name in lower case"`
	Aliases      []string     `env:"EUREKA_APP_ALIASES" envDefault:"SPORTS_SERVICE" help:"further app names the same instance registers under (vip: the name in lower case), comma-separated, for the book's clients; none: none"`
	InstanceHost string       `env:"EUREKA_INSTANCE_HOSTNAME" help:"host name advertised to other services; empty: this host's"`
	InstanceIP   string       `env:"EUREKA_INSTANCE_IP" validate:"omitempty,ip" help:"IP advertised to other services; empty: this host's"`
	PreferIP     bool         `env:"EUREKA_PREFER_IP_ADDRESS" help:"true: advertise and call instances by IP"`
	Renewal      int          `env:"EUREKA_LEASE_RENEWAL_INTERVAL_SECONDS" envDefault:"30" validate:"min=1" help:"heartbeat interval"`
	Lease        int          `env:"EUREKA_LEASE_DURATION_SECONDS" envDefault:"90" validate:"min=1" help:"lease the registry grants without a heartbeat"`
	Fetch        int          `env:"EUREKA_REGISTRY_FETCH_INTERVAL_SECONDS" envDefault:"30" validate:"min=1" help:"how often the registry is fetched for discovery"`
	StatusCheck  int          `env:"EUREKA_STATUS_CHECK_INTERVAL_SECONDS" envDefault:"10" validate:"min=1" help:"how often readiness updates the UP/DOWN status"`
	RetryBackoff int          `env:"EUREKA_RETRY_MAX_BACKOFF_SECONDS" envDefault:"30" validate:"min=1" help:"longest wait between registration attempts"`
	Request      int          `env:"EUREKA_REQUEST_TIMEOUT_SECONDS" envDefault:"5" validate:"min=1" help:"deadline of one request to a Eureka server"`
	LoadBalancer config.Lower `env:"EUREKA_LOAD_BALANCER" envDefault:"round-robin" validate:"oneof=round-robin random" help:"round-robin or random"`
}

// Variables lists every variable LoadConfig reads, with its default.
func Variables() []config.Variable { return config.VariablesOf[settings]() }

// LoadConfig reads the EUREKA_* variables through getenv. port is the port
// the HTTP server listens on. An empty EUREKA_URL yields a disabled Config
// and no error, so the service runs without a registry.
func LoadConfig(getenv func(string) string, port int) (Config, error) {
	in, err := config.Parse[settings](getenv)
	if err != nil {
		return Config{}, err
	}
	seconds := func(n int) time.Duration { return time.Duration(n) * time.Second }
	cfg := Config{
		AppName:               strings.ToUpper(in.AppName),
		VipAddress:            in.VipAddress,
		InstanceHost:          in.InstanceHost,
		InstanceIP:            in.InstanceIP,
		PreferIPAddress:       in.PreferIP,
		Port:                  port,
		RenewalInterval:       seconds(in.Renewal),
		LeaseDuration:         seconds(in.Lease),
		RegistryFetchInterval: seconds(in.Fetch),
		StatusCheckInterval:   seconds(in.StatusCheck),
		RetryMaxBackoff:       seconds(in.RetryBackoff),
		RequestTimeout:        seconds(in.Request),
		LoadBalancer:          LoadBalancer(in.LoadBalancer),
	}
	for _, u := range in.URLs {
		// The library joins paths with "/", so a trailing slash would
		// give "//apps".
		cfg.ServerURLs = append(cfg.ServerURLs, strings.TrimRight(u, "/"))
	}
	if !(len(in.Aliases) == 1 && strings.EqualFold(in.Aliases[0], NoAliases)) {
		for _, a := range in.Aliases {
			cfg.Aliases = append(cfg.Aliases, strings.ToUpper(a))
		}
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
		errs = append(errs, problem("port", strconv.Itoa(c.Port), "must be between 1 and 65535"))
	}
	if !validName.MatchString(c.AppName) {
		errs = append(errs, problem(EnvAppName, c.AppName, nameRule))
	}
	if c.VipAddress != "" && !validName.MatchString(c.VipAddress) {
		errs = append(errs, problem(EnvVipAddress, c.VipAddress, nameRule))
	}
	seen := map[string]bool{strings.ToUpper(c.AppName): true}
	for _, a := range c.Aliases {
		switch {
		case !validName.MatchString(a):
			errs = append(errs, problem(EnvAppAliases, a, nameRule+", or "+NoAliases))
		case seen[strings.ToUpper(a)]:
			errs = append(errs, problem(EnvAppAliases, a, "must differ from "+EnvAppName+" and from each other"))
		}
		seen[strings.ToUpper(a)] = true
	}
	if c.Enabled() && (c.InstanceHost == "" || c.InstanceIP == "") {
		errs = append(errs, problem(EnvInstanceHostname+"/"+EnvInstanceIP, c.InstanceHost+"/"+c.InstanceIP, "host name and IP must both be known"))
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
			errs = append(errs, problem(p.name, p.d.String(), "must be positive"))
		}
	}
	// Eureka evicts an instance whose lease ran out; a lease no longer than
	// the renewal interval would expire between two heartbeats.
	if c.LeaseDuration <= c.RenewalInterval {
		errs = append(errs, problem(EnvLeaseDuration, c.LeaseDuration.String(), "must be longer than "+EnvRenewalInterval+" ("+c.RenewalInterval.String()+")"))
	}
	if c.LoadBalancer != RoundRobin && c.LoadBalancer != Random {
		errs = append(errs, problem(EnvLoadBalancer, string(c.LoadBalancer), "must be round-robin or random"))
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
			return problem(EnvInstanceIP, "", "not set and could not be detected: "+err.Error())
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
