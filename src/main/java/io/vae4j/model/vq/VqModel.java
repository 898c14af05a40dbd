package io.vae4j.model.vq;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.model.Family;
import io.vae4j.model.ImageRange;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.WeightSet;
import io.vae4j.model.kl.AutoencoderParts;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlGraph;
import io.vae4j.model.nn.Conv;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A VQ autoencoder of taming-transformers or latent-diffusion (VQGAN f16, LDM VQ-f4/f8/f16): the ldm Encoder,
 * quant_conv to embed_dim, the codebook, post_quant_conv back to z_channels, the ldm Decoder. {@link #encode} gives
 * the quantized latent (codebook rows); {@link #decode} quantizes its latent first, as latent-diffusion's VQ decode
 * does (per position, so tiles quantize as the whole latent would), unless it is the {@link #withoutQuantization()}
 * view; {@link #codebook()} quantizes and looks up indices.
 */
public final class VqModel implements Vae {
    /**
     * latent-diffusion trains its VQ-based LDMs on the quantized latents as they are (scale_factor 1.0 in every
     * vq-f4/f8 config) and taming's transformers work on indices: no scaling.
     */
    public static final String SPACE_SOURCE = "VQ autoencoder: latent-diffusion uses its quantized latents unscaled";

    private final Backend backend;
    private final VqConfig config;
    private final AutoencoderParts parts;
    private final Codebook codebook;
    private final ModelInfo info;
    private final boolean quantizeOnDecode;
    /** The model whose parts a view shares, which frees them; null for the model itself. */
    private final VqModel owner;

    VqModel(Backend backend, WeightSet w, VqConfig config, String layout, LatentSpace space) {
        this.backend = backend;
        this.config = config;
        KlConfig body = config.body();
        int z = body.latentChannels(), e = config.embedDim();
        this.parts = new AutoencoderParts(
                body.hasEncoder() ? KlGraph.encoder(backend, w, body, z, config.encoderAttention()) : null,
                body.quantConv() ? new Conv(backend, w, "quant_conv", z, e, ConvGeometry.pointwise()) : null,
                body.postQuantConv() ? new Conv(backend, w, "post_quant_conv", e, z, ConvGeometry.pointwise()) : null,
                body.hasDecoder() ? KlGraph.decoder(backend, w, body, config.decoderAttention()) : null);
        this.codebook = new Codebook(backend, w.take(VqConfig.CODEBOOK, config.codebookSize(), e));
        this.quantizeOnDecode = true;
        this.owner = null;
        w.requireAllUsed();
        this.info = new ModelInfo(w.source(), layout, "VQModel " + config.describe(), space,
                parts.parameters("codebook", codebook.parameters()), w.dtypes(), w.storedBytes(),
                w.convertedBytes());
    }

    /**
     * Loads the VQ autoencoder in these ldm-named tensors; a training checkpoint's {@code loss.*} (discriminator,
     * perceptual loss) is left out.
     *
     * @param chosen the --family the user asked for, or null for the VQ default (no scaling)
     */
    public static VqModel load(Backend backend, String source, Map<String, Tensor> tensors,
                               Map<String, String> skipped, String layout, Family chosen) {
        Map<String, Tensor> model = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            if (!name.startsWith("loss.")) {
                model.put(name, t);
            }
        });
        WeightSet w = new WeightSet(source, model, skipped);
        VqConfig config = VqConfig.infer(w);
        LatentSpace space = chosen == null ? new LatentSpace(Family.OTHER, 1, 0, SPACE_SOURCE)
                : ModelLoader.parentSpace(config.embedDim(), chosen);
        return new VqModel(backend, w, config, layout, space);
    }

    private VqModel(VqModel of) {
        this.backend = of.backend;
        this.config = of.config;
        this.parts = of.parts;
        this.codebook = of.codebook;
        this.info = of.info;
        this.quantizeOnDecode = false;
        this.owner = of;
    }

    /** This model decoding latents as they are given (codebook rows, or --no-quantize); closing it frees nothing. */
    public VqModel withoutQuantization() {
        return quantizeOnDecode ? new VqModel(this) : this;
    }

    public VqConfig config() {
        return config;
    }

    public Codebook codebook() {
        return codebook;
    }

    /** The backend this model's weights were prepared for, which its codebook's scoring runs on. */
    public Backend backend() {
        return backend;
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public int latentChannels() {
        return config.embedDim();
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
     * Three live tensors of the largest activation, as for the KL decoder, plus one attention score matrix of the
     * finest level that has attention (the mid block's at the latent's size otherwise).
     */
    @Override
    public long decodeActivationBytes(int height, int width) {
        int[] ch = config.body().levelChannels();
        long largest = 0;
        long attention = (long) (height / downscale()) * (width / downscale());
        for (int i = 0; i < ch.length; i++) {
            long pixels = (long) (height >> Math.max(0, i - 1)) * (width >> Math.max(0, i - 1));
            largest = Math.max(largest, ch[i] * pixels);
            if (config.decoderAttention()[i]) {
                attention = Math.max(attention, (long) (height >> i) * (width >> i));
            }
        }
        return 4 * (3 * largest + attention * Math.min(attention, 4096)) + (64L << 20);
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

    /** post_quant_conv and the decoder on z [N, embed_dim, h, w], quantized first unless this is the view without. */
    @Override
    public Tensor decode(Tensor z) {
        if (parts.decoder() == null) {
            throw new VaeException(info.source() + ": this file has no decoder");
        }
        requireShape(z, config.embedDim(), 1, "latent");
        if (!quantizeOnDecode) {
            return parts.decode(backend, z);
        }
        try (Tensor q = codebook.quantize(backend, z)) {
            return parts.decode(backend, q);
        }
    }

    /** The quantized latent (codebook rows) as the mean; a VQ encoder has no variance. */
    @Override
    public Moments encode(Tensor image) {
        try (Tensor h = encodeUnquantized(image)) {
            return new Moments(codebook.quantize(backend, h), null);
        }
    }

    /** quant_conv(encoder(image)): the latent before quantization, the reference's "h". */
    public Tensor encodeUnquantized(Tensor image) {
        if (parts.encoder() == null) {
            throw new VaeException(info.source() + ": this file has no encoder");
        }
        requireShape(image, config.body().imageChannels(), downscale(), "image");
        return parts.encode(backend, image);
    }

    private void requireShape(Tensor t, int channels, int minSize, String what) {
        if (t.rank() != 4 || t.dim(1) != channels) {
            throw new VaeException(what + " has shape " + Arrays.toString(t.shape()) + ", but this VQ model expects"
                    + " [N, " + channels + ", H, W]");
        }
        if (t.dim(0) < 1 || t.dim(2) < minSize || t.dim(3) < minSize) {
            throw new VaeException(what + " of shape " + Arrays.toString(t.shape())
                    + " is too small: each side needs at least " + minSize + " pixels");
        }
    }

    @Override
    public void close() {
        if (owner != null) {
            return;
        }
        parts.close();
        codebook.close();
    }
}
