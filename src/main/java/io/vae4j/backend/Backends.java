package io.vae4j.backend;

import io.vae4j.VaeException;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;

/** Chooses a backend by name once, at start-up. */
public final class Backends {
    private Backends() {
    }

    /** Names accepted by {@link #create}. */
    public static final String NAMES = "auto, java, scalar";

    /**
     * @param name    "auto" (the fastest available), "java" (Vector API) or "scalar" (the slow reference)
     * @param threads worker threads, at least 1
     */
    public static Backend create(String name, int threads) {
        if (threads < 1) {
            throw new VaeException("--threads must be at least 1, got " + threads);
        }
        return switch (name) {
            case "auto", "java" -> new VectorBackend(threads);
            case "scalar" -> new ScalarBackend();
            default -> throw new VaeException("unknown backend '" + name + "' (expected one of: " + NAMES + ")");
        };
    }

    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }
}
