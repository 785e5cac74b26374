package org.osms.interop;

import java.util.concurrent.TimeUnit;

/** A steady loop of calls on its own thread, one every interval, until stopped. */
final class CallLoop {

    private final Caller caller;
    private final CallStats stats;
    private final long intervalMs;
    private final Thread thread;
    private volatile boolean running = true;

    CallLoop(Caller caller, CallStats stats, long intervalMs) {
        this.caller = caller;
        this.stats = stats;
        this.intervalMs = intervalMs;
        this.thread = new Thread(this::run, "call-loop");
        this.thread.setDaemon(true);
    }

    CallStats stats() {
        return stats;
    }

    void start() {
        thread.start();
    }

    void stop() throws InterruptedException {
        // No interrupt: it would fail the call in flight, which the stats
        // would then count against the service. That call ends within the
        // read timeout.
        running = false;
        thread.join(TimeUnit.SECONDS.toMillis(10));
    }

    private void run() {
        while (running) {
            caller.call(stats);
            try {
                Thread.sleep(intervalMs);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
