package io.vae4j;

import io.vae4j.backend.Backend;
import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Family;
import io.vae4j.model.ImageRange;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.Tensor;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * vae4j for a program that embeds it: one model, loaded once, with plain arrays in and out. Latents are NCHW float
 * arrays {@code [n, latentChannels(), h, w]}; images are NCHW float arrays {@code [n, 3, h·downscale(),
 * w·downscale()]} in [-1, 1] for every model (a TAESD's [0, 1] is mapped to 2x - 1), or {@link BufferedImage}s.
 * A latent or image whose untiled run does not fit the memory budget runs exact or fast, as the CLI would.
 * Thread-safe: calls may run at once (each with the backend's threads); {@link #close()} once all are done.
 *
 * <pre>{@code
 * try (VaeModel vae = VaeModel.load(Path.of("vae.safetensors"))) {
 *     float[] image = vae.decode(latent, 1, 64, 64);   // diffusion-space latent -> [1, 3, 512, 512]
 * }
 * }</pre>
 */
public final class VaeModel implements AutoCloseable {

    /**
     * How a model runs.
     *
     * @param threads   worker threads (default: all cores)
     * @param backend   auto, java, onednn or scalar
     * @param precision fp32 or bf16
     * @param family    sd1, sd2, sdxl, sd3, flux1, or null to decide from a config.json or the tensors
     * @param memory    the memory budget of one call, bytes (default 2 GiB)
     */
    public record Options(int threads, String backend, String precision, String family, long memory) {
        public Options {
            Objects.requireNonNull(backend, "backend");
            Objects.requireNonNull(precision, "precision");
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            }
            if (memory <= 0) {
                throw new IllegalArgumentException("memory must be positive, got " + memory);
            }
        }

        public static Options defaults() {
            return new Options(Backends.defaultThreads(), "auto", "fp32", null, 2L << 30);
        }

        public Options withThreads(int n) {
            return new Options(n, backend, precision, family, memory);
        }

        public Options withBackend(String name) {
            return new Options(threads, name, precision, family, memory);
        }

        public Options withPrecision(String name) {
            return new Options(threads, backend, name, family, memory);
        }

        public Options withFamily(String id) {
            return new Options(threads, backend, precision, id, memory);
        }

        public Options withMemory(long bytes) {
            return new Options(threads, backend, precision, family, bytes);
        }
    }

    private final Backend backend;
    private final Model model;
    private final Vae vae;
    private final Pipeline pipeline;
    private final long maxPixels = Limits.TILED_MAX_PIXELS;

    private VaeModel(Backend backend, Model model, Pipeline pipeline) {
        this.backend = backend;
        this.model = model;
        this.vae = model.vae();
        this.pipeline = pipeline;
    }

    /** Loads a model (any file or folder the CLI's --model takes) with the default options. */
    public static VaeModel load(Path path) {
        return load(path, Options.defaults());
    }

    /**
     * Loads a model.
     *
     * @throws VaeException naming the file and what was expected when it cannot be read or is not a VAE
     */
    public static VaeModel load(Path path, Options options) {
        Family family = null;
        if (options.family() != null) {
            family = Family.parse(options.family());
            if (family == null || family.latentChannels < 0) {
                throw new VaeException("unknown family '" + options.family() + "' (expected one of: " + Family.ids()
                        + ")");
            }
        }
        Backend backend = Backends.create(options.backend(), options.threads(), Precision.parse(options.precision()));
        try {
            Model model = ModelLoader.load(path, backend, family);
            return new VaeModel(backend, model, new Pipeline(Pipeline.Options.auto(options.memory(), line -> { })));
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }

    public int latentChannels() {
        return vae.latentChannels();
    }

    /** Image pixels per latent pixel along each axis. */
    public int downscale() {
        return vae.downscale();
    }

    /** The latent family ("sd1", "sdxl", "flux1", ..., "taesd" for the tiny autoencoders, "other"). */
    public String family() {
        return vae.latentSpace().family().id;
    }

    /** The diffusion scaling factor and shift of this model's latents: diffusion = (raw - shift) · scale. */
    public double scalingFactor() {
        return vae.latentSpace().scale();
    }

    public double shiftFactor() {
        return vae.latentSpace().shift();
    }

    /** Raw latent {@code [n, C, h, w]} to images {@code [n, 3, H, W]} in [-1, 1], before any clamping. */
    public float[] decodeRaw(float[] latent, int n, int h, int w) {
        requireDecoder();
        int c = vae.latentChannels();
        if (latent.length != (long) n * c * h * w) {
            throw new VaeException("latent has " + latent.length + " values; [" + n + ", " + c + ", " + h + ", " + w
                    + "] needs " + (long) n * c * h * w);
        }
        int f = vae.downscale();
        long per = 3L * h * f * w * f;
        if (n * per > Integer.MAX_VALUE - 8) {
            throw new VaeException("a decode of [" + n + ", " + c + ", " + h + ", " + w + "] has more values than a"
                    + " Java array holds; decode fewer or smaller latents");
        }
        float[] out = new float[(int) (n * per)];
        try (Tensor z = Tensor.of(latent, n, c, h, w)) {
            Limits.checkLatent("latent", z, vae, maxPixels);
            for (int i = 0; i < n; i++) {
                try (Tensor zi = z.slice0(i, 1); Tensor image = pipeline.decodeWhole(vae, zi)) {
                    if (vae.imageRange() == ImageRange.ZERO_ONE) {
                        Latents.mapInPlace(image, x -> 2 * x - 1);
                    }
                    float[] values = image.toFloatArray();
                    System.arraycopy(values, 0, out, (int) (i * per), values.length);
                }
            }
        }
        return out;
    }

    /**
     * Diffusion-space latent {@code [n, C, h, w]} (the family's factors applied) to images, as {@link #decodeRaw}.
     * FLUX.2's diffusion latents are {@code [n, 4C, h, w]}, 2x2 patches of the raw {@code [n, C, 2h, 2w]}.
     */
    public float[] decode(float[] latent, int n, int h, int w) {
        LatentSpace space = vae.latentSpace();
        if (!space.patched()) {
            return decodeRaw(map(latent, space::toRaw), n, h, w);
        }
        int c = 4 * vae.latentChannels();
        if (latent.length != (long) n * c * h * w) {
            throw new VaeException("latent has " + latent.length + " values; [" + n + ", " + c + ", " + h + ", " + w
                    + "] (FLUX.2, 2x2 patches) needs " + (long) n * c * h * w);
        }
        try (Tensor z = Tensor.of(latent, n, c, h, w); Tensor raw = space.toRaw(z)) {
            return decodeRaw(raw.toFloatArray(), n, 2 * h, 2 * w);
        }
    }

    /** One diffusion-space latent {@code [1, C, h, w]} to an 8-bit RGB image. */
    public BufferedImage decodeImage(float[] latent, int h, int w) {
        float[] image = decode(latent, 1, h, w);
        try (Tensor t = Tensor.of(image, 1, 3, h * vae.downscale(), w * vae.downscale())) {
            return Images.toBufferedImage(t, PixelRange.MINUS_ONE_ONE, 0);
        }
    }

    /** An image to its posterior mean {@code [1, C, H/f, W/f]} in diffusion space (the family's factors applied). */
    public float[] encode(BufferedImage image) {
        LatentSpace space = vae.latentSpace();
        if (!space.patched()) {
            return map(encodeRaw(image), space::toDiffusion);
        }
        int f = vae.downscale();
        try (Tensor raw = Tensor.of(encodeRaw(image), 1, vae.latentChannels(), image.getHeight() / f,
                image.getWidth() / f); Tensor z = space.toDiffusion(raw)) {
            return z.toFloatArray();
        }
    }

    /** An image to its raw posterior mean {@code [1, C, H/f, W/f]}. */
    public float[] encodeRaw(BufferedImage image) {
        if (!vae.canEncode()) {
            throw new VaeException(vae.info().source() + " has no encoder (" + vae.info().architecture() + ")");
        }
        PixelRange range = Pipeline.pixelRange(vae);
        if ((long) image.getWidth() * image.getHeight() > maxPixels) {
            throw new VaeException("image of " + image.getWidth() + "x" + image.getHeight() + " pixels is over the"
                    + " limit of " + maxPixels);
        }
        if (!pipeline.encodeFits(vae, image.getHeight(), image.getWidth())) {
            return encodeTiled(image);
        }
        try (Tensor t = Images.fromBufferedImage(image, range)) {
            Limits.checkImage("image", t, vae, maxPixels);
            try (Moments m = pipeline.encodeUntiled(vae, t)) {
                return m.mean().toFloatArray();
            }
        }
    }

    /** Over the budget: the image goes through a scratch PNG, read back in strips, as the CLI encodes a file. */
    private float[] encodeTiled(BufferedImage image) {
        Pipeline.ImageStager png = file -> {
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new VaeException("this Java runtime cannot write the image as PNG for a tiled encode");
            }
        };
        try (Tensor mean = pipeline.encodeStaged(vae, "image", png, maxPixels)) {
            return mean.toFloatArray();
        } catch (IOException e) {
            throw new VaeException("cannot stage the image for a tiled encode in " + pipeline.options().scratch()
                    + ": " + e.getMessage(), e);
        }
    }

    private void requireDecoder() {
        if (!vae.canDecode()) {
            throw new VaeException(vae.info().source() + " has no decoder (" + vae.info().architecture() + ")");
        }
    }

    private static float[] map(float[] values, Latents.FloatUnaryOperator f) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = f.apply(values[i]);
        }
        return out;
    }

    /** The loaded model at the Tensor level, for what the arrays do not cover. */
    public Model model() {
        return model;
    }

    /** Frees the weights and the backend's threads; no call may be running. */
    @Override
    public void close() {
        model.close();
        backend.close();
    }
}
