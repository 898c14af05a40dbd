package io.vae4j.model;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * How the mid-block self-attention of a KL autoencoder runs. Its cost grows with the square of the latent's pixel
 * count, so past some size a whole-image run has to give up on attending over the whole image:
 * <ul>
 *   <li>{@link #GLOBAL}: every latent pixel attends to every other, as the reference does;</li>
 *   <li>{@link #TILED}: pixels attend within non-overlapping windows of {@link #WINDOW}² latent pixels (the
 *   64x64 latent of a 512x512 image, the size these models were trained at);</li>
 *   <li>{@link #OFF}: the attention layer is skipped (it passes its input through).</li>
 * </ul>
 * A run picks a mode with {@link #where}; outside one, attention is global.
 */
public enum AttentionMode {
    GLOBAL, TILED, OFF;

    /** Window edge of {@link #TILED}, in latent pixels. */
    public static final int WINDOW = 64;

    private static final ScopedValue<AttentionMode> CURRENT = ScopedValue.newInstance();

    public static AttentionMode current() {
        return CURRENT.isBound() ? CURRENT.get() : GLOBAL;
    }

    public <T> T where(Supplier<T> work) {
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
