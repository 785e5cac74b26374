package org.osms.interop;

import java.net.http.HttpClient;
import java.time.Duration;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.RestClient;

/**
 * A Spring Cloud application that calls the sports service by its registered
 * name through the Eureka server (the standard Eureka client and Spring Cloud
 * LoadBalancer, nothing custom), and that registers itself so the service can
 * call its actuator /actuator/info. The Go tests drive it over
 * {@link ControlController}'s small HTTP API.
 */
@SpringBootApplication
public class InteropClientApplication {

    public static void main(String[] args) {
        SpringApplication.run(InteropClientApplication.class, args);
    }

    /**
     * A plain builder for everything that must not go through the load
     * balancer. The Eureka client's own transport picks up a RestClient.Builder
     * bean; if the load-balanced one below were the only one, its calls to the
     * registry would be resolved as service ids and fail
     * (spring-cloud-netflix#4380, #4591), so this one is @Primary.
     */
    @Bean
    @Primary
    RestClient.Builder restClientBuilder() {
        return RestClient.builder();
    }

    /**
     * The load-balanced builder the application code uses: host names in its
     * URLs are Eureka service ids (vipAddress), resolved by Spring Cloud
     * LoadBalancer. Bounded timeouts so a dead instance gives a fast error
     * rather than a stuck call loop; no retries, so every failure is counted.
     */
    @Bean
    @LoadBalanced
    RestClient.Builder loadBalancedRestClientBuilder(
            @Value("${interop.connect-timeout:2s}") Duration connectTimeout,
            @Value("${interop.read-timeout:5s}") Duration readTimeout) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(connectTimeout).build();
        JdkClientHttpRequestFactory factory = new JdkClientHttpRequestFactory(http);
        factory.setReadTimeout(readTimeout);
        return RestClient.builder().requestFactory(factory);
    }
}
