package discovery

import (
	"math"
	"net"
	"strconv"
	"time"

	"github.com/ArthurHlt/go-eureka-client/eureka"
)

// Metadata keys this service publishes with its instance.
const (
	MetadataVersion   = "version"
	MetadataStartTime = "startTime"
)

// Paths of the URLs registered with the instance, all served by this
// service with 200 (see handlers/routes.go): Swagger UI as the home page (a
// client that does not follow redirects gets 200 too, which "/" -> /docs
// would not give), the build information as the status page, the overall
// health (200 UP, 503 when not ready or draining) as the health check.
const (
	HomePagePath    = "/docs"
	StatusPagePath  = "/info"
	HealthCheckPath = "/health"
)

// Instance statuses as Eureka names them.
const (
	StatusUp           = eureka.UP
	StatusDown         = eureka.DOWN
	StatusOutOfService = "OUT_OF_SERVICE"
)

// instanceInfo is what we register: Spring Cloud's shape, so Spring and
// Python clients find and call us as they would a Spring service.
func instanceInfo(cfg Config, version string, startedAt time.Time, status string) *eureka.InstanceInfo {
	host := cfg.AdvertisedHost()
	baseURL := "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	vip := cfg.VIP()
	return &eureka.InstanceInfo{
		InstanceID:       cfg.InstanceID(),
		HostName:         host,
		App:              cfg.AppName,
		IpAddr:           cfg.InstanceIP,
		VipAddress:       vip,
		SecureVipAddress: vip,
		Status:           status,
		Port:             &eureka.Port{Port: cfg.Port, Enabled: true},
		SecurePort:       &eureka.Port{Port: 443, Enabled: false},
		HomePageUrl:      baseURL + HomePagePath,
		StatusPageUrl:    baseURL + StatusPagePath,
		HealthCheckUrl:   baseURL + HealthCheckPath,
		DataCenterInfo: &eureka.DataCenterInfo{
			Name:  "MyOwn",
			Class: "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
		},
		LeaseInfo: &eureka.LeaseInfo{
			RenewalIntervalInSecs: wholeSeconds(cfg.RenewalInterval),
			DurationInSecs:        wholeSeconds(cfg.LeaseDuration),
		},
		Metadata: &eureka.MetaData{Map: map[string]string{
			MetadataVersion:   version,
			MetadataStartTime: startedAt.UTC().Format(time.RFC3339),
		}},
		CountryId: 1,
		// Eureka keeps the registration with the newest dirty timestamp, so
		// a re-registration after a restart of ours always wins.
		LastDirtyTimestamp: int(time.Now().UnixMilli()),
	}
}

// wholeSeconds rounds up: Eureka's lease fields are whole seconds and a
// lease must never be shorter than configured.
func wholeSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
