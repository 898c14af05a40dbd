package io.vae4j.server;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How {@code ./vae4j serve} runs.
 *
 * @param maxConcurrent  requests computing at once, each with all the backend's threads
 * @param maxQueue       admitted requests waiting for a compute slot; more get 429
 * @param memory         the memory budget shared by the computing requests (each gets memory / maxConcurrent)
 * @param requestTimeout from admission to the last byte of computation; past it the request gets 503
 * @param drainTimeout   how long SIGTERM waits for requests in flight
 * @param maxPixels      pixels per image a request may decode or encode
 * @param scratch        where exact runs keep their large activations
 * @param accessLog      one line per request on stderr
 */
public record ServerConfig(String host, int port, int maxConcurrent, int maxQueue, long memory,
                           Duration requestTimeout, Duration drainTimeout, long maxPixels, Path scratch,
                           boolean accessLog) {

    public ServerConfig {
        if (maxConcurrent < 1) {
            throw new IllegalArgumentException("max-concurrent must be at least 1, got " + maxConcurrent);
        }
        if (maxQueue < 0) {
            throw new IllegalArgumentException("max-queue must be 0 or more, got " + maxQueue);
        }
    }

    /** The memory budget of one computing request. */
    long requestBudget() {
        return memory / maxConcurrent;
    }

    /** The largest request body any route accepts: an encode's image of maxPixels, with room for PNG overhead. */
    long maxBody() {
        return Math.min(Integer.MAX_VALUE - 8L, maxPixels * 8 + (1L << 20));
    }
}
