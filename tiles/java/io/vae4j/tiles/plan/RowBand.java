package io.vae4j.tiles.plan;

/**
 * The output rows that become final once every tile of tile row {@code tileRow} is done: rows
 * {@code [from, to)} of the image, which the writer can then flush. The bands of a plan's tile rows are
 * consecutive and cover the image exactly once.
 */
public record RowBand(int tileRow, int from, int to) {

    public int rows() {
        return to - from;
    }
}
