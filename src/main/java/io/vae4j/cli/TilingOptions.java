package io.vae4j.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** decode's and encode's --tile, --tiling, --memory, --scratch and --attention, read by {@link Tiling}. */
final class TilingOptions {
    @Option(names = "--tile", paramLabel = "auto|N", order = 50, defaultValue = "auto",
            description = "tile edge in image pixels, a multiple of 8; implies fast (default: ${DEFAULT-VALUE})")
    String tile;

    @Option(names = "--tiling", paramLabel = "fast|exact|off", order = 51, defaultValue = "auto",
            completionCandidates = Choices.TilingModes.class,
            description = "tiles, whole image on scratch files, or in memory (default: ${DEFAULT-VALUE})")
    String tiling;

    @Option(names = "--memory", paramLabel = "SIZE", order = 52, defaultValue = "2g",
            description = "the budget that picks the tiling, e.g. 512m (default: ${DEFAULT-VALUE})")
    String memory;

    @Option(names = "--scratch", paramLabel = "DIR", order = 54,
            description = "where exact mode's scratch files go (default: java.io.tmpdir)")
    Path scratch;

    @Option(names = "--attention", paramLabel = "auto|global|tiled|off", order = 55, defaultValue = "auto",
            completionCandidates = Choices.AttentionModes.class,
            description = "mid-block attention: whole image, windows, skipped (default: ${DEFAULT-VALUE})")
    String attention;
}
