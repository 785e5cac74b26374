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

    /** The exception and its root cause, which says what happened (ConnectException, ...). */
    static String describe(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String s = e.getClass().getSimpleName() + ": " + e.getMessage();
        return root == e ? s : s + " (cause " + root.getClass().getName() + ": " + root.getMessage() + ")";
    }
}
