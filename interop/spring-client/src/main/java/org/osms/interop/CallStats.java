package org.osms.interop;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Counters of a series of calls; thread-safe, snapshots are copies. */
final class CallStats {

    /** Errors kept in full; later ones are only counted. */
    private static final int MAX_ERRORS = 50;

    private final String target;
    private final long startedMillis = System.currentTimeMillis();
    private long ok;
    private long failed;
    private long maxNanos;
    private final Map<String, Long> perInstance = new TreeMap<>();
    /** When each instance last answered, epoch ms: shows when a stopped instance stopped being picked. */
    private final Map<String, Long> lastMillis = new TreeMap<>();
    private final List<Map<String, Object>> errors = new ArrayList<>();

    CallStats(String target) {
        this.target = target;
    }

    synchronized void ok(String instance, long nanos) {
        ok++;
        maxNanos = Math.max(maxNanos, nanos);
        perInstance.merge(instance, 1L, Long::sum);
        lastMillis.put(instance, System.currentTimeMillis());
    }

    synchronized void failed(String error, long nanos) {
        failed++;
        maxNanos = Math.max(maxNanos, nanos);
        if (errors.size() < MAX_ERRORS) {
            Map<String, Object> e = new LinkedHashMap<>();
            // Epoch milliseconds, so the test can place a failure relative to its SIGTERM.
            e.put("atMillis", System.currentTimeMillis());
            e.put("error", error);
            errors.add(e);
        }
    }

    synchronized Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("target", target);
        m.put("startedMillis", startedMillis);
        m.put("ok", ok);
        m.put("failed", failed);
        m.put("maxMillis", maxNanos / 1_000_000.0);
        m.put("perInstance", new TreeMap<>(perInstance));
        m.put("lastMillis", new TreeMap<>(lastMillis));
        m.put("errors", new ArrayList<>(errors));
        return m;
    }
}
