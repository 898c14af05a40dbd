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
import io.vae4j.model.nn.Layer;
import io.vae4j.model.nn.Sequential;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/** The KL-regularised autoencoder of latent diffusion (SD1/2, SDXL, SD3, FLUX.1 and relatives), for any config. */
public final class AutoencoderKL implements Vae {
    private final Backend backend;
    private final KlConfig config;
    private final Sequential encoder;
    private final Conv quantConv;
    private final Conv postQuantConv;
    private final Sequential decoder;
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
        this.encoder = config.hasEncoder() ? KlGraph.encoder(backend, w, config) : null;
        this.quantConv = config.quantConv()
                ? new Conv(backend, w, "quant_conv", 2 * z, 2 * z, ConvGeometry.pointwise()) : null;
        this.postQuantConv = config.postQuantConv()
                ? new Conv(backend, w, "post_quant_conv", z, z, ConvGeometry.pointwise()) : null;
        this.decoder = config.hasDecoder() ? KlGraph.decoder(backend, w, config) : null;
        w.requireAllUsed();
        SequencedMap<String, Long> params = new LinkedHashMap<>();
        if (encoder != null) {
            params.put("encoder", encoder.parameters());
        }
        if (quantConv != null) {
            params.put("quant_conv", quantConv.parameters());
        }
        if (postQuantConv != null) {
            params.put("post_quant_conv", postQuantConv.parameters());
        }
        if (decoder != null) {
            params.put("decoder", decoder.parameters());
        }
        this.info = new ModelInfo(w.source(), layout, "AutoencoderKL " + config.describe(), space,
                params, dtypes(w), storedBytes(w), convertedBytes(w));
    }

    static String dtypes(WeightSet w) {
        return String.join("+", w.names().stream().map(n -> w.peek(n).dtype().name()).distinct().sorted().toList());
    }

    static long storedBytes(WeightSet w) {
        return w.names().stream().mapToLong(n -> w.peek(n).numel() * w.peek(n).dtype().bytes).sum();
    }

    static long convertedBytes(WeightSet w) {
        return w.names().stream().map(w::peek).filter(t -> t.dtype() != DType.F32).mapToLong(t -> t.numel() * 4)
                .sum();
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

    @Override
    public boolean canEncode() {
        return encoder != null;
    }

    @Override
    public boolean canDecode() {
        return decoder != null;
    }

    @Override
    public Tensor decode(Tensor z) {
        if (decoder == null) {
            throw new VaeException(info.source() + ": this file has no decoder");
        }
        requireShape(z, config.latentChannels(), 1, "latent");
        if (postQuantConv == null) {
            return decoder.forward(backend, z);
        }
        try (Tensor h = postQuantConv.forward(backend, z)) {
            return decoder.forward(backend, h);
        }
    }

    @Override
    public Moments encode(Tensor image) {
        if (encoder == null) {
            throw new VaeException(info.source() + ": this file has no encoder");
        }
        requireShape(image, config.imageChannels(), downscale(), "image");
        try (Tensor h = encoder.forward(backend, image)) {
            if (quantConv == null) {
                return split(h, config.latentChannels());
            }
            try (Tensor moments = quantConv.forward(backend, h)) {
                return split(moments, config.latentChannels());
            }
        }
    }

    /** The raw encoder output [N, 2z, h, w] (mean then unclamped logvar), as the reference's "moments". */
    public Tensor encodeMoments(Tensor image) {
        try (Moments m = encode(image)) {
            return concat(m.mean(), m.logvar());
        }
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
        int n = moments.dim(0), h = moments.dim(2), w = moments.dim(3);
        long plane = (long) z * h * w;
        Tensor mean = Tensor.allocate(n, z, h, w), logvar = Tensor.allocate(n, z, h, w);
        for (int b = 0; b < n; b++) {
            MemorySegment.copy(moments.data(), 2 * b * plane * 4, mean.data(), b * plane * 4, plane * 4);
            for (long i = 0; i < plane; i++) {
                float lv = moments.get((2L * b + 1) * plane + i);
                logvar.set(b * plane + i, Math.min(20f, Math.max(-30f, lv)));
            }
        }
        return new Moments(mean, logvar);
    }

    /** [N, a, h, w] ++ [N, b, h, w] along channels. */
    static Tensor concat(Tensor a, Tensor b) {
        int n = a.dim(0), h = a.dim(2), w = a.dim(3);
        Tensor out = Tensor.allocate(n, a.dim(1) + b.dim(1), h, w);
        long pa = a.numel() / n * 4, pb = b.numel() / n * 4;
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(a.data(), i * pa, out.data(), i * (pa + pb), pa);
            MemorySegment.copy(b.data(), i * pb, out.data(), i * (pa + pb) + pa, pb);
        }
        return out;
    }

    @Override
    public void close() {
        for (Layer part : new Layer[]{encoder, quantConv, postQuantConv, decoder}) {
            if (part != null) {
                part.close();
            }
        }
    }
}
