package io.vae4j.model.kl;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.Family;
import io.vae4j.model.ImageRange;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

/** The KL-regularised autoencoder of latent diffusion (SD1/2, SDXL, SD3, FLUX.1 and relatives), for any config. */
public final class AutoencoderKL implements Vae {
    private final Backend backend;
    private final KlConfig config;
    private final AutoencoderParts parts;
    private final ModelInfo info;

    /**
     * Builds the graph from ldm-named tensors.
     *
     * @param layout the key layout the tensors came in, for {@link #info()}
     */
    public AutoencoderKL(Backend backend, WeightSet w, KlConfig config, String layout, LatentSpace space) {
        this.backend = backend;
        this.config = config;
        int z = config.latentChannels();
        this.parts = new AutoencoderParts(config.hasEncoder() ? KlGraph.encoder(backend, w, config) : null,
                config.quantConv() ? new Conv(backend, w, "quant_conv", 2 * z, 2 * z, ConvGeometry.pointwise()) : null,
                config.postQuantConv() ? new Conv(backend, w, "post_quant_conv", z, z, ConvGeometry.pointwise()) : null,
                config.hasDecoder() ? KlGraph.decoder(backend, w, config) : null);
        w.requireAllUsed();
        this.info = new ModelInfo(w.source(), layout, "AutoencoderKL " + config.describe(), space,
                parts.parameters(null, 0), w.dtypes(), w.storedBytes(), w.convertedBytes());
    }

    public KlConfig config() {
        return config;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public int latentChannels() {
        return config.latentChannels();
    }

    @Override
    public int downscale() {
        return config.downscale();
    }

    @Override
    public ImageRange imageRange() {
        return ImageRange.MINUS_ONE_ONE;
    }

    /**
     * About three live tensors of the largest activation (a block's input, its first convolution's output and the
     * block's output), plus the bounded convolution bands. The largest is where an up level has upsampled but not
     * yet reduced channels.
     */
    @Override
    public long decodeActivationBytes(int height, int width) {
        long largest = 0;
        int[] ch = config.levelChannels();
        for (int i = 0; i < ch.length; i++) {
            long side = Math.max(1, i == 0 ? 1 : 1L << (i - 1));
            largest = Math.max(largest, ch[i] * ((long) height / side) * ((long) width / side));
        }
        return 3 * largest * 4 + (64L << 20);
    }

    @Override
    public long decodePeakBytes(int height, int width) {
        return 4 * liveSet().decode(height / downscale(), width / downscale());
    }

    @Override
    public long encodePeakBytes(int height, int width) {
        return 4 * liveSet().encode(height, width);
    }

    /** The live set with the weight transforms this backend keeps in a whole-image run's scratch. */
    private KlLiveSet liveSet() {
        return new KlLiveSet(config, (in, out, upsampled) ->
                backend.scratchWeightBytes(ConvGeometry.same3x3(), in, out, upsampled) / 4);
    }

    @Override
    public long decodeMacs(int[] latentShape) {
        return parts.decodeMacs(latentShape);
    }

    @Override
    public long encodeMacs(int[] imageShape) {
        return parts.encodeMacs(imageShape);
    }

    @Override
    public boolean canEncode() {
        return parts.encoder() != null;
    }

    @Override
    public boolean canDecode() {
        return parts.decoder() != null;
    }

    @Override
    public Tensor decode(Tensor z) {
        if (parts.decoder() == null) {
            throw new VaeException(info.source() + ": this file has no decoder");
        }
        requireShape(z, config.latentChannels(), 1, "latent");
        return parts.decode(backend, z);
    }

    @Override
    public Moments encode(Tensor image) {
        try (Tensor moments = encodeMoments(image)) {
            return split(moments, config.latentChannels());
        }
    }

    /** The raw encoder output [N, 2z, h, w]: mean, then the unclamped logvar (the reference's "moments"). */
    public Tensor encodeMoments(Tensor image) {
        if (parts.encoder() == null) {
            throw new VaeException(info.source() + ": this file has no encoder");
        }
        requireShape(image, config.imageChannels(), downscale(), "image");
        return parts.encode(backend, image);
    }

    private void requireShape(Tensor t, int channels, int minSize, String what) {
        if (t.rank() != 4 || t.dim(1) != channels) {
            String guess = what.equals("latent") ? " (a " + (t.rank() == 4 ? t.dim(1) : 0)
                    + "-channel latent looks like " + Family.guessFromChannels(t.rank() == 4 ? t.dim(1) : 0) + ")"
                    : "";
            throw new VaeException(what + " has shape " + java.util.Arrays.toString(t.shape()) + ", but this model ("
                    + info.latentSpace().family().id + ") expects [N, " + channels + ", H, W]" + guess);
        }
        if (t.dim(0) < 1 || t.dim(2) < minSize || t.dim(3) < minSize) {
            throw new VaeException(what + " of shape " + java.util.Arrays.toString(t.shape())
                    + " is too small: each side needs at least " + minSize + " pixels");
        }
    }

    /** Splits moments into mean and logvar, clamping logvar to [-30, 20] like the reference. */
    private static Moments split(Tensor moments, int z) {
        Tensor logvar = Tensors.channels(moments, z, z);
        for (long i = 0; i < logvar.numel(); i++) {
            logvar.set(i, Math.min(20f, Math.max(-30f, logvar.get(i))));
        }
        return new Moments(Tensors.channels(moments, 0, z), logvar);
    }

    @Override
    public void close() {
        parts.close();
    }
}
