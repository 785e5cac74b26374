package org.osms.interop;

import java.util.Map;

import org.springframework.web.client.RestClient;

/** One call to the service through the load-balanced client, counted in a CallStats. */
final class Caller {

    private final RestClient client;
    private final String target;
    private final String instanceField;

    Caller(RestClient client, String target, String instanceField) {
        this.client = client;
        this.target = target;
        this.instanceField = instanceField;
    }

    void call(CallStats stats) {
        long started = System.nanoTime();
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> body = client.get().uri(target).retrieve().body(Map.class);
            Object who = body == null ? null : body.get(instanceField);
            stats.ok(who == null ? "unknown" : who.toString(), System.nanoTime() - started);
        } catch (RuntimeException e) {
            // Any exception is a failed call: connection refused, a 5xx, a
            // timeout, or "no instances available" from the load balancer.
            stats.failed(describe(e), System.nanoTime() - started);
        }
    }

    /**
     * The exception and its causes' classes, outermost first, with the first
     * message any of them has: what happened, e.g. "ResourceAccessException
     * < ConnectException < ClosedChannelException: I/O error on GET ...",
     * which is how the JDK client reports a refused connection.
     */
    static String describe(Throwable e) {
        StringBuilder chain = new StringBuilder();
        String message = null;
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            chain.append(chain.isEmpty() ? "" : " < ").append(c.getClass().getSimpleName());
            if (message == null && c.getMessage() != null) {
                message = c.getMessage();
            }
        }
        return chain + ": " + message;
    }
}
