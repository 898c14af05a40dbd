package io.vae4j.model;

import io.vae4j.tensor.Tensor;

/**
 * A loaded autoencoder, whatever its architecture. Thread-safe: weights are read-only, every call allocates its
 * own activations. Latents here are raw (the VAE's own space); {@link #latentSpace()} holds the diffusion scaling.
 */
public interface Vae extends AutoCloseable {

    ModelInfo info();

    default LatentSpace latentSpace() {
        return info().latentSpace();
    }

    int latentChannels();

    /** Image pixels per latent pixel along each axis. */
    int downscale();

    ImageRange imageRange();

    boolean canEncode();

    boolean canDecode();

    /**
     * Whether a decode may be split into tiles (or run layer by layer from scratch files) when the whole image does
     * not fit the memory budget. A model whose every step needs the whole image, and whose random draws are
     * made for it, says no: an over-budget decode is then refused instead of tiled.
     */
    default boolean decodeTiles() {
        return true;
    }

    /** Raw latent [N, z, h, w] to image [N, 3, h·f, w·f], before any clamping. */
    Tensor decode(Tensor latent);

    /** Image [N, 3, H, W] to the latent distribution. */
    Moments encode(Tensor image);

    /**
     * The multiply-accumulates of {@link #decode} on a raw latent of this shape, as its layers report them to
     * {@link io.vae4j.util.Work} while they run; 0 where the model does not say.
     */
    default long decodeMacs(int[] latentShape) {
        return 0;
    }

    /** As {@link #decodeMacs}, for {@link #encode} of an image of this shape. */
    default long encodeMacs(int[] imageShape) {
        return 0;
    }

    /** A rough estimate of the activation memory one untiled decode to an image of this size needs, in bytes. */
    long decodeActivationBytes(int height, int width);

    /**
     * The most activation bytes alive at once while one image of this size is decoded whole, including the
     * output, plus the prepared weights the run keeps in scratch (Winograd transforms): the scratch space a
     * whole-image run needs. Models without a closer figure give their rough one.
     */
    default long decodePeakBytes(int height, int width) {
        return decodeActivationBytes(height, width);
    }

    /** As {@link #decodePeakBytes}, for encoding one image of this size, input included. */
    default long encodePeakBytes(int height, int width) {
        return decodeActivationBytes(height, width);
    }

    @Override
    void close();
}
