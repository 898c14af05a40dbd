package io.vae4j.tiles.plan;

/**
 * One tile of a {@link TilePlan}, in latent pixels.
 *
 * @param index position in the plan's row-major order
 * @param row   tile row
 * @param col   tile column
 * @param core  the latent pixels this tile is responsible for; the cores of a plan partition the latent
 * @param input the core grown by the halo on each side and clamped to the latent: what the model is run on
 */
public record Tile(int index, int row, int col, Region core, Region input) {

    /** The core relative to the input region: where to crop the model's output (times the scale factor). */
    public Region coreInInput() {
        return core.relativeTo(input);
    }
}
