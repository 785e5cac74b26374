package org.osms.interop;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.cloud.netflix.eureka.EurekaServiceInstance;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import com.netflix.appinfo.InstanceInfo;

/**
 * The HTTP API the Go tests drive: make calls to the service through the
 * load-balanced client, run a steady call loop while an instance is stopped,
 * and show what Spring's DiscoveryClient sees.
 */
@RestController
class ControlController {

    private final String target;
    private final Caller caller;
    private final DiscoveryClient discovery;
    private final AtomicReference<CallLoop> loop = new AtomicReference<>();

    ControlController(@LoadBalanced RestClient.Builder builder, DiscoveryClient discovery,
            @Value("${interop.service-id}") String serviceId,
            @Value("${interop.service-path}") String path,
            @Value("${interop.instance-field}") String instanceField) {
        this.target = "http://" + serviceId + path;
        this.caller = new Caller(builder.build(), target, instanceField);
        this.discovery = discovery;
    }

    /** Makes n calls one after the other and reports how they went. */
    @GetMapping("/calls")
    Map<String, Object> calls(@RequestParam(defaultValue = "10") int n) {
        if (n < 1 || n > 10_000) {
            throw new IllegalArgumentException("n must be between 1 and 10000");
        }
        CallStats stats = new CallStats(target);
        for (int i = 0; i < n; i++) {
            caller.call(stats);
        }
        return stats.snapshot();
    }

    /** Starts a steady loop of calls, one every intervalMs; 409 if one is running. */
    @PostMapping("/loop/start")
    ResponseEntity<Map<String, Object>> startLoop(@RequestParam(defaultValue = "20") long intervalMs) {
        if (intervalMs < 1 || intervalMs > 10_000) {
            throw new IllegalArgumentException("intervalMs must be between 1 and 10000");
        }
        CallLoop l = new CallLoop(caller, new CallStats(target), intervalMs);
        if (!loop.compareAndSet(null, l)) {
            return ResponseEntity.status(409).body(Map.of("error", "a loop is already running"));
        }
        l.start();
        return ResponseEntity.ok(l.stats().snapshot());
    }

    /** The running loop's counters so far. */
    @GetMapping("/loop")
    ResponseEntity<Map<String, Object>> loopStats() {
        CallLoop l = loop.get();
        return l == null ? ResponseEntity.status(404).body(Map.of("error", "no loop is running"))
                : ResponseEntity.ok(l.stats().snapshot());
    }

    /** Stops the loop, waits for its last call, and returns the final counters. */
    @PostMapping("/loop/stop")
    ResponseEntity<Map<String, Object>> stopLoop() throws InterruptedException {
        CallLoop l = loop.getAndSet(null);
        if (l == null) {
            return ResponseEntity.status(404).body(Map.of("error", "no loop is running"));
        }
        l.stop();
        return ResponseEntity.ok(l.stats().snapshot());
    }

    /** What Spring's DiscoveryClient (the Eureka client's local registry) lists for a service id. */
    @GetMapping("/instances/{serviceId}")
    List<Map<String, Object>> instances(@PathVariable String serviceId) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ServiceInstance si : discovery.getInstances(serviceId)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("serviceId", si.getServiceId());
            m.put("instanceId", si.getInstanceId());
            m.put("host", si.getHost());
            m.put("port", si.getPort());
            m.put("secure", si.isSecure());
            m.put("uri", si.getUri().toString());
            m.put("metadata", si.getMetadata());
            if (si instanceof EurekaServiceInstance esi) {
                InstanceInfo info = esi.getInstanceInfo();
                m.put("app", info.getAppName());
                m.put("vipAddress", info.getVIPAddress());
                m.put("secureVipAddress", info.getSecureVipAddress());
                m.put("ipAddr", info.getIPAddr());
                m.put("hostName", info.getHostName());
                m.put("status", info.getStatus().name());
                m.put("homePageUrl", info.getHomePageUrl());
                m.put("statusPageUrl", info.getStatusPageUrl());
                m.put("healthCheckUrl", info.getHealthCheckUrl());
            }
            out.add(m);
        }
        return out;
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ResponseEntity<Map<String, Object>> badRequest(IllegalArgumentException e) {
        return ResponseEntity.badRequest().body(Map.of("error", e.getMessage()));
    }
}
