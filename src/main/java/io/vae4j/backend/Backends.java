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
        return create(name, threads, Precision.FP32);
    }

    /**
     * As {@link #create(String, int)}, computing the convolutions in {@code precision}. BF16 runs on oneDNN's
     * avx512_core_bf16 kernels (its matmul for the Winograd products of 3x3 convolutions, its convolutions for the
     * others; see {@link OneDnnBackend#BF16_WINOGRAD}): "auto" picks them where they exist and otherwise logs that it falls back to fp32;
     * asking for them by name ("onednn") where they do not exist, or with the java or scalar backends (which
     * compute in float32 only), is an error.
     */
    public static Backend create(String name, int threads, Precision precision) {
        if (threads < 1) {
            throw new VaeException("--threads must be at least 1, got " + threads);
        }
        if (precision == Precision.BF16) {
            return bf16(name, threads);
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

    private static Backend bf16(String name, int threads) {
        return switch (name) {
            case "auto" -> {
                if (OneDnn.hasBf16Kernels()) {
                    logBf16Choice();
                    yield new OneDnnBackend(threads, Precision.BF16);
                }
                BackendLog.info("--precision bf16: " + (OneDnn.available() ? OneDnn.describe()
                        + " has no avx512_core_bf16 kernels here" : OneDnn.unavailableReason())
                        + "; falling back to fp32");
                yield create("auto", threads, Precision.FP32);
            }
            case "onednn" -> {
                if (!OneDnn.available()) {
                    throw new VaeException("--precision bf16 runs on oneDNN, which is not available: "
                            + OneDnn.unavailableReason());
                }
                yield new OneDnnBackend(threads, Precision.BF16);
            }
            case "java", "scalar" -> throw new VaeException("--precision bf16: the " + name + " backend computes in"
                    + " fp32 only; use --backend onednn or auto for bf16");
            default -> throw new VaeException("unknown backend '" + name + "' (expected one of: " + NAMES + ")");
        };
    }

    private static volatile boolean bf16Logged;

    /** Which bf16 path "auto" runs, once per process. */
    private static synchronized void logBf16Choice() {
        if (!bf16Logged) {
            bf16Logged = true;
            BackendLog.info("--precision bf16: " + (OneDnnBackend.BF16_WINOGRAD
                    ? "stride-1 3x3 convolutions as Winograd F(4x4) (Vector API) with bf16 products on oneDNN's"
                    + " matmul, the other convolutions on oneDNN's bf16 kernels"
                    : "every convolution on oneDNN's bf16 kernels") + " (" + OneDnn.describe() + ")");
        }
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
