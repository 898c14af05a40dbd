package io.vae4j.cli;

import io.vae4j.format.image.PixelRange;
import io.vae4j.model.ImageRange;

/** Maps a model's image range to the image codec's. */
final class Ranges {
    private Ranges() {
    }

    static PixelRange of(ImageRange r) {
        return r == ImageRange.ZERO_ONE ? PixelRange.ZERO_ONE : PixelRange.MINUS_ONE_ONE;
    }
}
