package io.vae4j.model.taesd;

/**
 * Part of a larger latent to decode: the latent is {@code height x width}; the tensor handed over holds its region
 * starting at ({@code inputY}, {@code inputX}); only the image of the core region is wanted. All in latent pixels.
 * The core must lie inside the input region; the result is exact when the input reaches at least
 * {@link Taesd#receptiveField()} past the core on every side that is not the latent's border.
 */
public record DecodeWindow(int height, int width, int inputY, int inputX, int coreY, int coreX, int coreHeight,
                           int coreWidth) {
    public DecodeWindow {
        if (height <= 0 || width <= 0 || coreHeight <= 0 || coreWidth <= 0 || inputY < 0 || inputX < 0
                || coreY < inputY || coreX < inputX || coreY + coreHeight > height || coreX + coreWidth > width) {
            throw new IllegalArgumentException("window core " + coreHeight + "x" + coreWidth + " at " + coreY + ","
                    + coreX + " with input at " + inputY + "," + inputX + " in a " + height + "x" + width
                    + " latent");
        }
    }
}
