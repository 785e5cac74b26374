package discovery

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestLoadConfig(t *testing.T) {
	base := map[string]string{
		EnvURL:              "http://eureka-1:8761/eureka/, http://eureka-2:8761/eureka",
		EnvInstanceHostname: "sports-1",
		EnvInstanceIP:       "10.1.2.3",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{"no URL disables discovery", map[string]string{}, func(t *testing.T, c Config) {
			if c.Enabled() || c.AppName != DefaultAppName {
				t.Fatalf("%+v", c)
			}
		}},
		{"defaults", base, func(t *testing.T, c Config) {
			want := []string{"http://eureka-1:8761/eureka", "http://eureka-2:8761/eureka"}
			if strings.Join(c.ServerURLs, ",") != strings.Join(want, ",") {
				t.Errorf("ServerURLs = %v, want %v", c.ServerURLs, want)
			}
			if c.RenewalInterval != 30*time.Second || c.LeaseDuration != 90*time.Second || c.RegistryFetchInterval != 30*time.Second {
				t.Errorf("intervals %s %s %s", c.RenewalInterval, c.LeaseDuration, c.RegistryFetchInterval)
			}
			if c.LoadBalancer != RoundRobin || c.PreferIPAddress {
				t.Errorf("balancer %q preferIP %v", c.LoadBalancer, c.PreferIPAddress)
			}
			if got := c.InstanceID(); got != "sports-1:sports-service:8080" {
				t.Errorf("InstanceID = %q", got)
			}
			if c.AppName != "SPORTS-SERVICE" || c.VIP() != "sports-service" || strings.Join(c.Aliases, ",") != "SPORTS_SERVICE" {
				t.Errorf("app %q vip %q aliases %q", c.AppName, c.VIP(), c.Aliases)
			}
		}},
		{"everything set", with(map[string]string{
			EnvAppName: "sports-api", EnvRenewalInterval: "5", EnvLeaseDuration: "15",
			EnvRegistryFetchInterval: "7", EnvStatusCheckInterval: "2", EnvRetryMaxBackoff: "60",
			EnvRequestTimeout: "3", EnvLoadBalancer: "RANDOM", EnvPreferIPAddress: "true",
		}), func(t *testing.T, c Config) {
			if c.AppName != "SPORTS-API" || c.RenewalInterval != 5*time.Second || c.LeaseDuration != 15*time.Second ||
				c.RegistryFetchInterval != 7*time.Second || c.StatusCheckInterval != 2*time.Second ||
				c.RetryMaxBackoff != time.Minute || c.RequestTimeout != 3*time.Second || c.LoadBalancer != Random {
				t.Fatalf("%+v", c)
			}
			if got := c.InstanceID(); got != "10.1.2.3:sports-api:8080" {
				t.Errorf("InstanceID with prefer-IP = %q", got)
			}
		}},
		{"no aliases", with(map[string]string{EnvAppAliases: "None"}), func(t *testing.T, c Config) {
			if len(c.Aliases) != 0 || len(c.Registrations()) != 1 {
				t.Errorf("aliases %q", c.Aliases)
			}
		}},
		{"vip and aliases set", with(map[string]string{EnvAppName: "osms", EnvVipAddress: "osms-api", EnvAppAliases: " sports_service , legacy-sports,"}), func(t *testing.T, c Config) {
			regs := c.Registrations()
			var got []string
			for _, r := range regs {
				got = append(got, r.AppName+"/"+r.VIP()+"/"+r.InstanceID()+"/"+strings.Join(r.Aliases, ","))
			}
			want := "OSMS/osms-api/sports-1:osms:8080/ SPORTS_SERVICE/sports_service/sports-1:sports_service:8080/ LEGACY-SPORTS/legacy-sports/sports-1:legacy-sports:8080/"
			if strings.Join(got, " ") != want {
				t.Errorf("registrations %q\nwant %q", strings.Join(got, " "), want)
			}
		}},
		{"address detected when not configured", map[string]string{EnvURL: "http://e:8761/eureka"}, func(t *testing.T, c Config) {
			// Depends on the machine: a test box may lack a non-loopback
			// interface, in which case LoadConfig must have failed instead.
			if c.InstanceIP == "" || c.InstanceHost == "" {
				t.Fatalf("host %q ip %q", c.InstanceHost, c.InstanceIP)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tt.env), 8080)
			if err != nil {
				if strings.Contains(err.Error(), "could not be detected") && os.Getenv("CI") != "true" {
					t.Skipf("machine has no usable interface: %v", err)
				}
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	base := map[string]string{EnvURL: "http://e:8761/eureka", EnvInstanceHostname: "h", EnvInstanceIP: "10.0.0.1"}
	tests := []struct {
		name     string
		env      map[string]string
		port     int
		variable string
		rule     string
	}{
		{"URL without scheme", map[string]string{EnvURL: "eureka:8761"}, 8080, EnvURL, "http or https URL"},
		{"URL with another scheme", map[string]string{EnvURL: "ftp://e/eureka"}, 8080, EnvURL, "http or https URL"},
		{"bad IP", map[string]string{EnvInstanceIP: "10.0.0"}, 8080, EnvInstanceIP, "must be an IP address"},
		{"renewal not a number", map[string]string{EnvRenewalInterval: "30s"}, 8080, EnvRenewalInterval, "whole number"},
		{"renewal zero", map[string]string{EnvRenewalInterval: "0"}, 8080, EnvRenewalInterval, "at least 1"},
		{"lease negative", map[string]string{EnvLeaseDuration: "-5"}, 8080, EnvLeaseDuration, "at least 1"},
		{"lease not above renewal", map[string]string{EnvRenewalInterval: "30", EnvLeaseDuration: "30"}, 8080, EnvLeaseDuration, "must be longer than"},
		{"fetch interval", map[string]string{EnvRegistryFetchInterval: "x"}, 8080, EnvRegistryFetchInterval, "whole number"},
		{"prefer IP", map[string]string{EnvPreferIPAddress: "yes please"}, 8080, EnvPreferIPAddress, "true or false"},
		{"load balancer", map[string]string{EnvLoadBalancer: "least-loaded"}, 8080, EnvLoadBalancer, "round-robin, random"},
		{"port", map[string]string{}, 0, "port", "between 1 and 65535"},
		{"app name with a slash", map[string]string{EnvAppName: "a/b"}, 8080, EnvAppName, "letters, digits"},
		{"vip with a space", map[string]string{EnvVipAddress: "sports service"}, 8080, EnvVipAddress, "letters, digits"},
		{"alias equal to the app name", map[string]string{EnvAppAliases: "sports-service"}, 8080, EnvAppAliases, "must differ"},
		{"alias twice", map[string]string{EnvAppAliases: "a,A"}, 8080, EnvAppAliases, "must differ"},
		{"alias with a colon", map[string]string{EnvAppAliases: "a:b"}, 8080, EnvAppAliases, "or none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			_, err := LoadConfig(envOf(env), tt.port)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Variable != tt.variable {
				t.Fatalf("error %v: want a ConfigError for %s", err, tt.variable)
			}
			if !strings.Contains(err.Error(), tt.rule) {
				t.Errorf("error %q does not state the rule %q", err, tt.rule)
			}
		})
	}
}

func TestLoadConfigDisabledIgnoresAddress(t *testing.T) {
	// `go run .` without a registry must not need a network interface.
	c, err := LoadConfig(envOf(map[string]string{EnvAppName: "x"}), 8080)
	if err != nil || c.Enabled() || c.InstanceIP != "" {
		t.Fatalf("%+v, %v", c, err)
	}
}
