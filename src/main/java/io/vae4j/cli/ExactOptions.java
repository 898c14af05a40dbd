package io.vae4j.cli;

import io.vae4j.model.AttentionMode;

import java.util.Locale;

/** Options of whole-image (--tiling exact) runs shared by decode, encode and bench. */
final class ExactOptions {
    private ExactOptions() {
    }

    static AttentionMode attentionMode(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "global" -> AttentionMode.GLOBAL;
            case "tiled" -> AttentionMode.TILED;
            case "off" -> AttentionMode.OFF;
            default -> throw new Args.UsageException("--attention must be auto, global, tiled or off, got '"
                    + value + "'");
        };
    }

    /**
     * How far the resident set may grow before scratch pages are released: enough for the working set of one
     * convolution band and of attention's keys and values, small next to the activations themselves.
     * -Dvae4j.scratch.slack overrides (a size such as 512m).
     */
    static long residentSlack() {
        String v = System.getProperty("vae4j.scratch.slack");
        return v == null ? 128L << 20 : Tiling.parseSize(v);
    }
}
