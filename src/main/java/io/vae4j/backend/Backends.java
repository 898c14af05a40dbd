package io.vae4j.backend;

import io.vae4j.VaeException;
import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;

/** Chooses a backend by name once, at start-up. */
public final class Backends {
    private Backends() {
    }

    /** Names accepted by {@link #create}. */
    public static final String NAMES = "auto, java, onednn, scalar";

    private static volatile String autoChoice;

    /**
     * @param name    "auto" (the fastest available), "java" (Vector API), "onednn" (convolutions by oneDNN through
     *                FFM, the rest by the Vector API) or "scalar" (the slow reference)
     * @param threads worker threads, at least 1
     */
    public static Backend create(String name, int threads) {
        if (threads < 1) {
            throw new VaeException("--threads must be at least 1, got " + threads);
        }
        return switch (name) {
            case "auto" -> auto().equals("onednn") ? new OneDnnBackend(threads) : new VectorBackend(threads);
            case "java" -> new VectorBackend(threads);
            case "onednn" -> {
                if (!OneDnn.available()) {
                    throw new VaeException("--backend onednn: oneDNN is not available: " + OneDnn.unavailableReason());
                }
                yield new OneDnnBackend(threads);
            }
            case "scalar" -> new ScalarBackend();
            default -> throw new VaeException("unknown backend '" + name + "' (expected one of: " + NAMES + ")");
        };
    }

    /**
     * What "auto" means, decided once per process and logged once. The Vector API backend (Winograd, fused norms)
     * measured faster than oneDNN 2.6's convolutions on the SD decoder here (512x512, 2 threads: 8.2 s against
     * 13.2 s), so auto is "java"; oneDNN runs when asked for with --backend onednn.
     */
    public static String auto() {
        String c = autoChoice;
        if (c == null) {
            synchronized (Backends.class) {
                if (autoChoice == null) {
                    autoChoice = "java";
                    BackendLog.info("backend auto: java (Vector API)" + (OneDnn.available()
                            ? "; " + OneDnn.describe() + " is there for --backend onednn"
                            : ""));
                }
                c = autoChoice;
            }
        }
        return c;
    }

    public static int defaultThreads() {
        return Runtime.getRuntime().availableProcessors();
    }
}
