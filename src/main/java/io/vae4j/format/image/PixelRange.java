package io.vae4j.format.image;

/**
 * How pixel values map to tensor values. The arithmetic reproduces diffusers' {@code VaeImageProcessor} bit for
 * bit, which works in float32 throughout:
 * <ul>
 *   <li>reading: {@code np.array(img).astype(np.float32) / 255.0}, then (for {@link #MINUS_ONE_ONE})
 *       {@code 2.0 * x - 1.0} on a float32 tensor. Each step rounds to float32, so this is
 *       {@code fl32(2 * fl32(v / 255) - 1)}; computing {@code v / 127.5 - 1} in double and casting differs from it in
 *       the last bit for half of the 256 levels.</li>
 *   <li>writing: {@code (x / 2 + 0.5).clamp(0, 1)}, then {@code (x * 255).round()} (round half to even), all in
 *       float32.</li>
 * </ul>
 */
public enum PixelRange {
    /** Pixel 0 maps to -1 and full scale to 1: what the Stable Diffusion VAEs expect. */
    MINUS_ONE_ONE,
    /** Pixel 0 maps to 0 and full scale to 1. */
    ZERO_ONE;

    /**
     * The tensor value of a pixel sample {@code v} in {@code [0, max]} ({@code max} is 255 for 8-bit images, 65535
     * for 16-bit ones).
     */
    public float decode(int v, int max) {
        float unit = (float) v / (float) max;
        return this == ZERO_ONE ? unit : 2f * unit - 1f;
    }

    /**
     * The 8-bit pixel value of a tensor value: clamped to the range, scaled to [0, 255], rounded half to even.
     * NaN gives 0, +infinity 255, -infinity 0.
     */
    public int encode(float x) {
        float unit = this == ZERO_ONE ? x : x / 2f + 0.5f;
        if (!(unit > 0f)) {
            return 0; // also NaN
        }
        if (unit >= 1f) {
            return 255;
        }
        return (int) Math.rint(unit * 255f);
    }
}
