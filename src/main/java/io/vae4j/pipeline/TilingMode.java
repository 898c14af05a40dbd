package io.vae4j.pipeline;

import io.vae4j.VaeException;

import java.util.Locale;

/**
 * How a decode or encode is split up: {@link #AUTO} runs untiled when the untiled run's estimated memory fits the
 * budget, else exact when it can, else fast; the others force one way.
 */
public enum TilingMode {
    AUTO, FAST, EXACT, OFF;

    /** "auto", "fast", "exact" or "off", any case. */
    public static TilingMode parse(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "fast" -> FAST;
            case "exact" -> EXACT;
            case "off" -> OFF;
            default -> throw new VaeException("tiling must be auto, fast, exact or off, got '" + s + "'");
        };
    }
}
