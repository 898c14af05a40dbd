package io.vae4j.backend;

import io.vae4j.VaeException;

import java.util.Locale;

/**
 * The arithmetic of a backend's convolutions. FP32 everywhere by default; BF16 rounds convolution inputs and
 * weights to bfloat16 (8 bits of mantissa) and accumulates in float32, trading a measured loss of quality for speed
 * on CPUs with AVX512_BF16 dot products.
 */
public enum Precision {
    FP32, BF16;

    /** Names accepted by {@link #parse}. */
    public static final String NAMES = "fp32, bf16";

    public static Precision parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "fp32", "f32", "float32" -> FP32;
            case "bf16", "bfloat16" -> BF16;
            default -> throw new VaeException("unknown --precision '" + name + "' (expected one of: " + NAMES + ")");
        };
    }

    /** "fp32" or "bf16", as the command line spells it. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
