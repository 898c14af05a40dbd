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
            default -> throw new UsageException("--attention must be auto, global, tiled or off, got '"
                    + value + "'");
        };
    }

    /** How far exact runs let the resident set grow before releasing scratch pages (-Dvae4j.scratch.slack). */
    static long residentSlack() {
        return io.vae4j.pipeline.Pipeline.defaultResidentSlack();
    }
}
