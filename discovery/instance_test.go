package discovery

import (
	"strconv"
	"testing"
	"time"
)

// TestInstanceInfo checks what each registration tells Eureka: Spring Cloud
// calls the vipAddress as a host name, py_eureka_client the upper-cased app
// name, and both call the registered URLs.
func TestInstanceInfo(t *testing.T) {
	base := Config{
		ServerURLs: []string{"http://e/eureka"}, AppName: DefaultAppName, Aliases: []string{DefaultAppAliases},
		InstanceHost: "sports-1", InstanceIP: "10.1.2.3", Port: 8000,
		RenewalInterval: 30 * time.Second, LeaseDuration: 90 * time.Second,
	}
	preferIP := base
	preferIP.PreferIPAddress = true
	noHost := base
	noHost.InstanceHost = ""
	customVIP := base
	customVIP.AppName, customVIP.VipAddress, customVIP.Aliases = "OSMS", "osms-api", nil

	type want struct{ app, vip, id, host, base string }
	tests := []struct {
		name string
		cfg  Config
		want []want // one per registration
	}{
		{"defaults: hyphenated name, the book's as alias", base, []want{
			{"SPORTS-SERVICE", "sports-service", "sports-1:sports-service:8000", "sports-1", "http://sports-1:8000"},
			{"SPORTS_SERVICE", "sports_service", "sports-1:sports_service:8000", "sports-1", "http://sports-1:8000"},
		}},
		{"prefer IP", preferIP, []want{
			{"SPORTS-SERVICE", "sports-service", "10.1.2.3:sports-service:8000", "10.1.2.3", "http://10.1.2.3:8000"},
			{"SPORTS_SERVICE", "sports_service", "10.1.2.3:sports_service:8000", "10.1.2.3", "http://10.1.2.3:8000"},
		}},
		{"no host name: the IP, never an empty host", noHost, []want{
			{"SPORTS-SERVICE", "sports-service", "10.1.2.3:sports-service:8000", "10.1.2.3", "http://10.1.2.3:8000"},
			{"SPORTS_SERVICE", "sports_service", "10.1.2.3:sports_service:8000", "10.1.2.3", "http://10.1.2.3:8000"},
		}},
		{"vip set, no alias", customVIP, []want{
			{"OSMS", "osms-api", "sports-1:osms:8000", "sports-1", "http://sports-1:8000"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs := tt.cfg.Registrations()
			if len(regs) != len(tt.want) {
				t.Fatalf("%d registrations, want %d", len(regs), len(tt.want))
			}
			for i, w := range tt.want {
				info := instanceInfo(regs[i], "1.0", time.Unix(0, 0), StatusUp)
				fields := []struct{ name, got, want string }{
					{"app", info.App, w.app},
					{"vipAddress", info.VipAddress, w.vip},
					{"secureVipAddress", info.SecureVipAddress, w.vip},
					{"instanceId", info.InstanceID, w.id},
					{"hostName", info.HostName, w.host},
					{"ipAddr", info.IpAddr, "10.1.2.3"},
					{"port", strconv.Itoa(info.Port.Port) + " " + strconv.FormatBool(info.Port.Enabled), "8000 true"},
					{"securePort enabled", strconv.FormatBool(info.SecurePort.Enabled), "false"},
					{"homePageUrl", info.HomePageUrl, w.base + "/docs"},
					{"statusPageUrl", info.StatusPageUrl, w.base + "/info"},
					{"healthCheckUrl", info.HealthCheckUrl, w.base + "/health"},
					{"status", info.Status, StatusUp},
					{"lease", strconv.Itoa(info.LeaseInfo.RenewalIntervalInSecs) + "/" + strconv.Itoa(info.LeaseInfo.DurationInSecs), "30/90"},
					{"metadata version", info.Metadata.Map[MetadataVersion], "1.0"},
				}
				for _, f := range fields {
					if f.got != f.want {
						t.Errorf("registration %d: %s = %q, want %q", i, f.name, f.got, f.want)
					}
				}
			}
		})
	}
}
