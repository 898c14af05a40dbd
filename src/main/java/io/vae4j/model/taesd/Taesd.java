package io.vae4j.model.taesd;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.model.Family;
import io.vae4j.model.ImageRange;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.WeightSet;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The TAESD family of tiny autoencoders (TAESD, TAESDXL, TAESD3, TAEF1, TAEF2, TAESana): a deterministic encoder
 * and a decoder of plain 3x3 convolutions and ReLUs, images in [0, 1]. They work on the diffusion model's latents
 * directly (no scale or shift), and either half may be missing: the released weights come as separate encoder and
 * decoder files.
 */
public final class Taesd implements Vae {
    private final Backend backend;
    private final TaesdConfig config;
    private final TaesdNet encoder;
    private final TaesdNet decoder;
    private final ModelInfo info;

    public Taesd(Backend backend, WeightSet w, TaesdConfig config, TaesdLayout layout, LatentSpace space) {
        this.backend = backend;
        this.config = config;
        TaesdNet enc = null, dec = null;
        try {
            enc = config.hasEncoder() ? TaesdNet.build(backend, w, TaesdArch.encoder(config), layout::encoderModule)
                    : null;
            dec = config.hasDecoder() ? TaesdNet.build(backend, w, TaesdArch.decoder(config), layout::decoderModule)
                    : null;
            w.requireAllUsed();
        } catch (RuntimeException | Error e) {
            if (enc != null) {
                enc.close();
            }
            if (dec != null) {
                dec.close();
            }
            throw e;
        }
        this.encoder = enc;
        this.decoder = dec;
        SequencedMap<String, Long> params = new LinkedHashMap<>();
        if (encoder != null) {
            params.put("encoder", encoder.parameters());
        }
        if (decoder != null) {
            params.put("decoder", decoder.parameters());
        }
        this.info = new ModelInfo(w.source(), layout.description(), "TAESD " + config.describe(), space, params,
                w.dtypes(), w.storedBytes(), w.convertedBytes());
    }

    /**
     * Builds a TAESD from tensors in {@code layout}, deciding the latent space from the config and the family the
     * user chose.
     *
     * @param json   the diffusers config.json, or null
     * @param chosen the family given with --family, or null
     */
    public static Taesd load(Backend backend, WeightSet w, TaesdLayout layout, Map<String, Object> json,
                             Family chosen) {
        TaesdConfig config = TaesdConfig.infer(w, layout);
        if (json != null && json.get("latent_channels") instanceof Number n
                && n.intValue() != config.latentChannels()) {
            throw new VaeException(w.source() + ": config.json disagrees with the weights: latent_channels "
                    + n.intValue() + " but the tensors say " + config.latentChannels());
        }
        return new Taesd(backend, w, config, layout, space(config, json, chosen));
    }

    /**
     * TAESD models take and give the diffusion model's latents as they are: scale 1, shift 0, so {@code --raw}
     * changes nothing. A --family only has to fit the latent channels; a diffusers config's factors (1 and 0 in
     * every released AutoencoderTiny) are honoured.
     */
    static LatentSpace space(TaesdConfig config, Map<String, Object> json, Family chosen) {
        String variant = config.variant().id + ", for " + config.variant().latentsOf + " latents";
        if (chosen != null) {
            if (chosen.latentChannels != config.latentChannels()) {
                throw new VaeException("--family " + chosen.id + " needs a " + chosen.latentChannels
                        + "-channel model, but this TAESD (" + config.variant().id + ") has "
                        + config.latentChannels() + " latent channels");
            }
            return new LatentSpace(Family.TAESD, 1, 0, "--family " + chosen.id + "; TAESD works on " + chosen.id
                    + " diffusion latents directly, no scaling");
        }
        if (json != null && json.get("scaling_factor") instanceof Number s) {
            double shift = json.get("shift_factor") instanceof Number n ? n.doubleValue() : 0;
            return new LatentSpace(Family.TAESD, s.doubleValue(), shift, "config.json; " + variant);
        }
        return new LatentSpace(Family.TAESD, 1, 0, variant + "; diffusion latents are used as they are");
    }

    /** The decoder network, for tests of its windowed run. */
    TaesdNet decoderNet() {
        return decoder;
    }

    public TaesdConfig config() {
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
        return ImageRange.ZERO_ONE;
    }

    @Override
    public boolean canEncode() {
        return encoder != null;
    }

    @Override
    public boolean canDecode() {
        return decoder != null;
    }

    /**
     * Every stage's activations, as {@link #decodeWindowBytes} counts them, for the whole image: the stages before
     * the last add about a third to the full-resolution one.
     */
    @Override
    public long decodeActivationBytes(int height, int width) {
        int[] widths = TaesdArch.decoderWidths(config);
        int f = config.downscale();
        long sum = 0;
        for (int k = 0; k < widths.length; k++) {
            int scale = f >> (widths.length - 1 - k);
            int width0 = k == 0 && config.midblockGn() ? TaesdArch.poolWidth(widths[0]) : widths[k];
            sum += width0 * ceilDiv(height, f / scale) * ceilDiv(width, f / scale);
        }
        return sum * 4 * LIVE_ACTIVATIONS;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /**
     * The image of {@code window}'s core alone, [N, 3, coreHeight·f, coreWidth·f], from {@code input}, the
     * window's input region of a larger latent: the same pixels as the whole latent's decode when the input
     * reaches {@link #receptiveField()} past the core (up to float rounding). Unlike decoding the input region and
     * cropping, each upsampling stage only computes the core and the context the later layers read, so a wide
     * halo costs work at the latent's resolution only.
     */
    public Tensor decodeWindow(Tensor input, DecodeWindow window) {
        requireDecoder();
        requireShape(input, config.latentChannels(), "latent");
        return backend.toNchwConsuming(decoder.forwardWindow(backend, input, window));
    }

    /** Latent pixels of context each decoded pixel depends on, each way (19 for the 8x decoders, 0 without one). */
    public int receptiveField() {
        return decoder == null ? 0 : decoder.receptiveField();
    }

    /**
     * Peak activation memory of {@link #decodeWindow} for a core of coreHeight x coreWidth latent pixels with
     * {@code halo} latent pixels of input around it. Each stage runs on the previous one's kept region upsampled,
     * and a Block holds about {@link #LIVE_ACTIVATIONS} of its activations at once. The stages are summed, not
     * maximised: the native allocator keeps an earlier stage's freed blocks for the next tile, so they stay
     * resident while the last stage runs (measured on taesd_random, 2048x2048 in 128-pixel tiles: 3.4 activations
     * of every stage at the peak; see README "Huge images").
     */
    public long decodeWindowBytes(int coreHeight, int coreWidth, int halo) {
        requireDecoder();
        int[] widths = TaesdArch.decoderWidths(config);
        int[] m = decoder.windowMargins();
        long sum = 0;
        long h = coreHeight + 2L * halo, w = coreWidth + 2L * halo;
        for (int k = 0; k < widths.length; k++) {
            int width = k == 0 && config.midblockGn() ? TaesdArch.poolWidth(widths[0]) : widths[k];
            sum += width * h * w;
            h = 2 * (coreHeight * (1L << k) + 2L * m[k]);
            w = 2 * (coreWidth * (1L << k) + 2L * m[k]);
        }
        return sum * 4 * LIVE_ACTIVATIONS;
    }

    /** Activation-sized buffers alive at a Block's peak: its input, two intermediates and convolution scratch. */
    static final int LIVE_ACTIVATIONS = 4;

    @Override
    public long decodeMacs(int[] latentShape) {
        return decoder == null ? 0 : decoder.macs(latentShape);
    }

    @Override
    public long encodeMacs(int[] imageShape) {
        return encoder == null ? 0 : encoder.macs(imageShape);
    }

    @Override
    public Tensor decode(Tensor latent) {
        requireDecoder();
        requireShape(latent, config.latentChannels(), "latent");
        return backend.toNchwConsuming(decoder.forward(backend, latent));
    }

    /** How many times smaller than the full decode a preview can be: 2^(upsampling stages), 8 or 32. */
    public int maxPreviewScale() {
        requireDecoder();
        return 1 << decoder.upsamplingStages();
    }

    /**
     * A cheap small decode: the decoder with its last log2(scale) nearest upsamplings left out, an image 1/scale the
     * size of {@link #decode}'s (scale 1 is the full decode). Every convolution still runs, those after the first
     * skipped upsampling at the smaller size. On the taef2 photos its PSNR against the full decode, box-downsampled,
     * is 28-35 dB at scale 2, 22-29 dB at 4 and 18-24 dB at 8.
     */
    public Tensor decodePreview(Tensor latent, int scale) {
        requireDecoder();
        if (scale < 1 || Integer.bitCount(scale) != 1 || scale > maxPreviewScale()) {
            throw new VaeException("preview scale " + scale + " is not possible for this " + config.variant().id
                    + " decoder: expected a power of two from 1 to " + maxPreviewScale());
        }
        requireShape(latent, config.latentChannels(), "latent");
        return backend.toNchwConsuming(decoder.preview(backend, latent, Integer.numberOfTrailingZeros(scale)));
    }

    /** The latent, deterministic: TAESD encoders have no variance, so the moments hold the mean only. */
    @Override
    public Moments encode(Tensor image) {
        if (encoder == null) {
            throw new VaeException(info.source() + ": this file has no encoder (a TAESD decoder file; the encoder"
                    + " comes as a separate *_encoder file)");
        }
        requireShape(image, 3, "image");
        return new Moments(backend.toNchwConsuming(encoder.forward(backend, image)), null);
    }

    private void requireDecoder() {
        if (decoder == null) {
            throw new VaeException(info.source() + ": this file has no decoder (a TAESD encoder file; the decoder"
                    + " comes as a separate *_decoder file)");
        }
    }

    private void requireShape(Tensor t, int channels, String what) {
        if (t.rank() != 4 || t.dim(1) != channels) {
            String guess = what.equals("latent") && t.rank() == 4 ? " (a " + t.dim(1)
                    + "-channel latent looks like " + Family.guessFromChannels(t.dim(1)) + ")" : "";
            throw new VaeException(what + " has shape " + Arrays.toString(t.shape()) + ", but this model ("
                    + config.variant().id + ") expects [N, " + channels + ", H, W]" + guess);
        }
        if (t.dim(0) < 1 || t.dim(2) < 1 || t.dim(3) < 1) {
            throw new VaeException(what + " of shape " + Arrays.toString(t.shape()) + " is empty");
        }
    }

    @Override
    public void close() {
        if (encoder != null) {
            encoder.close();
        }
        if (decoder != null) {
            decoder.close();
        }
    }
}
