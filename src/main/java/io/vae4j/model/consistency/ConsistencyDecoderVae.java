package io.vae4j.model.consistency;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.model.ImageRange;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.WeightSet;
import io.vae4j.model.kl.AutoencoderKL;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlKeys;
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * OpenAI's consistency decoder in diffusers' layout (ConsistencyDecoderVAE: {@code encoder.*}, {@code
 * quant_conv.*}, {@code decoder_unet.*}): SD's KL encoder, and in place of the KL decoder a consistency-model UNet
 * sampled in two steps. Decoding normalises the latent ((z · 0.18215 - mean_c) / std_c), upsamples it nearest to
 * the image size, and runs the UNet on [noisy image · c_in, latent] at t=1008 and t=512 (see {@link
 * ConsistencySchedule}); the predicted x0 is not clamped, as in diffusers. The two random draws come from {@link
 * DecoderNoise}. The UNet sees the whole image at every step, so decoding does not tile.
 */
public final class ConsistencyDecoderVae implements Vae {
    /** Key prefix of the UNet in the diffusers layout. */
    public static final String UNET_PREFIX = "decoder_unet.";
    /**
     * Per-channel statistics of SD1 diffusion latents that the decoder was trained on: non-persistent buffers of
     * diffusers' ConsistencyDecoderVAE (not in any weight file), as its float32 values.
     */
    private static final float[] MEANS = {0.3886246681213379f, 0.022530630230903625f, 0.07381132990121841f,
        -0.017129400745034218f};
    private static final float[] STDS = {0.9654120802879333f, 1.0440036058425903f, 0.7614792585372925f,
        0.7702203392982483f};

    private final Backend backend;
    private final AutoencoderKL encoder;
    private final ConsistencyUnet unet;
    private final ConsistencySchedule schedule;
    private final float scalingFactor;
    private final int downscale;
    private final ModelInfo info;

    private ConsistencyDecoderVae(Backend backend, AutoencoderKL encoder, ConsistencyUnet unet,
                                  ConsistencySchedule schedule, float scalingFactor, int downscale, ModelInfo info) {
        this.backend = backend;
        this.schedule = schedule;
        this.encoder = encoder;
        this.unet = unet;
        this.scalingFactor = scalingFactor;
        this.downscale = downscale;
        this.info = info;
    }

    /** Whether these tensors are a ConsistencyDecoderVAE's (they have the decoder UNet). */
    public static boolean detect(Iterable<String> names) {
        for (String n : names) {
            if (n.startsWith(UNET_PREFIX)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Builds the model from diffusers-named tensors.
     *
     * @param config config.json, or null
     * @param space  the latent space decided by the loader (SD1's, for the released decoder)
     */
    public static ConsistencyDecoderVae load(Backend backend, String source, Map<String, Tensor> tensors,
                                             Map<String, String> skipped, Map<String, Object> config,
                                             LatentSpace space) {
        SequencedMap<String, Tensor> kl = new LinkedHashMap<>(), net = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            if (e.getKey().startsWith(UNET_PREFIX)) {
                net.put(e.getKey().substring(UNET_PREFIX.length()), e.getValue());
            } else {
                kl.put(e.getKey(), e.getValue());
            }
        }
        WeightSet unetWeights = new WeightSet(source, net, skipped);
        UnetConfig uc = UnetConfig.infer(unetWeights, config);
        AutoencoderKL encoder = null;
        ConsistencyUnet unet = null;
        try {
            if (!kl.isEmpty()) {
                WeightSet klWeights = new WeightSet(source, KlKeys.toLdm(kl), skipped);
                KlConfig kc = KlConfig.infer(klWeights);
                if (kc.hasDecoder()) {
                    throw new VaeException(source + ": holds both a KL decoder and a consistency decoder UNet");
                }
                encoder = new AutoencoderKL(backend, klWeights, kc, "diffusers", space);
            }
            int downscale = encoder != null ? encoder.downscale() : 8;
            if (uc.inChannels() != 3 + 4 || uc.outChannels() < 3) {
                throw new VaeException(source + ": decoder UNet takes " + uc.inChannels() + " channels and gives "
                        + uc.outChannels() + "; the consistency decoder's takes 7 (image + 4-channel latent) and"
                        + " gives at least 3");
            }
            if (downscale % uc.sizeMultiple() != 0) {
                throw new VaeException(source + ": decoder UNet of " + uc.levels() + " levels needs image sides"
                        + " divisible by " + uc.sizeMultiple() + ", more than the encoder's " + downscale + "x");
            }
            ConsistencySchedule schedule = new ConsistencySchedule();
            unet = new ConsistencyUnet(backend, unetWeights, uc, schedule);
            unetWeights.requireAllUsed();
            float scaling = config != null && config.get("scaling_factor") instanceof Number s ? s.floatValue()
                    : 0.18215f;
            SequencedMap<String, Long> params = new LinkedHashMap<>();
            if (encoder != null) {
                params.putAll(encoder.info().parameters());
            }
            params.put("decoder_unet", unet.parameters());
            String arch = "ConsistencyDecoderVAE: " + (encoder == null ? "" : "KL encoder ("
                    + encoder.config().describe().replace(" encoder", "") + ") + ")
                    + "consistency UNet decoder (" + uc.describe() + "), 2 sampling steps at t="
                    + ConsistencySchedule.TIMESTEPS[0] + ", " + ConsistencySchedule.TIMESTEPS[1] + ", "
                    + DecoderNoise.DRAWS + " noise draws (--seed, --noise); x0 not clamped (as diffusers)";
            ModelInfo info = new ModelInfo(source, "diffusers", arch, space, params, unetWeights.dtypes(),
                    encoder == null ? unetWeights.storedBytes()
                            : unetWeights.storedBytes() + encoder.info().weightBytes(),
                    unetWeights.convertedBytes() + (encoder == null ? 0 : encoder.info().convertedBytes()));
            return new ConsistencyDecoderVae(backend, encoder, unet, schedule, scaling, downscale, info);
        } catch (RuntimeException | Error e) {
            if (encoder != null) {
                encoder.close();
            }
            if (unet != null) {
                unet.close();
            }
            throw e;
        }
    }

    @Override
    public ModelInfo info() {
        return info;
    }

    @Override
    public int latentChannels() {
        return 4;
    }

    @Override
    public int downscale() {
        return downscale;
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
        return true;
    }

    @Override
    public boolean decodeTiles() {
        return false;
    }

    /** The shape of the image (and of every noise draw) a decode of a latent of this shape gives. */
    public int[] imageShape(int[] latentShape) {
        return DecoderNoise.shape(latentShape[0], latentShape[2] * downscale, latentShape[3] * downscale);
    }

    /** Decodes with the noise of the enclosing {@link DecoderNoise#where}, else seed 0. */
    @Override
    public Tensor decode(Tensor z) {
        return sample(z, DecoderNoise.current(), null);
    }

    /** Sees the sampler's state between steps: the noisy image the next UNet pass starts from (before c_in). */
    public interface StepObserver {
        void afterStep(int timestep, Tensor state);
    }

    /**
     * Decodes raw latent z with these draws, showing {@code observer} (when not null) the state after each step
     * but the last.
     */
    public Tensor sample(Tensor z, DecoderNoise noise, StepObserver observer) {
        int steps = schedule.size();
        if (z.rank() != 4 || z.dim(1) != 4) {
            throw new VaeException("latent has shape " + Arrays.toString(z.shape())
                    + ", but the consistency decoder expects [N, 4, h, w]");
        }
        int[] shape = imageShape(z.shape());
        int n = shape[0], h = shape[2], w = shape[3];
        long plane = (long) h * w;
        DecoderNoise.Draws draws = noise.start();
        Tensor input = Tensor.allocate(n, 3 + 4, h, w);
        try (Tensor normalised = normalise(z)) {
            Resampling.nearestInto(normalised, downscale, input, 3);
        }
        Tensor x = draws.next(shape);
        try (input) {
            scale(x, schedule.initNoiseSigma());
            for (int s = 0; s < steps; s++) {
                ConsistencySchedule.Step step = schedule.step(s);
                for (int i = 0; i < n; i++) {
                    for (long p = 0; p < 3 * plane; p++) {
                        input.set(i * 7 * plane + p, x.get(i * 3 * plane + p) * step.cIn());
                    }
                }
                try (Tensor out = unet.forward(backend, input, s)) {
                    int oc = out.dim(1);
                    for (int i = 0; i < n; i++) {
                        for (long p = 0; p < 3 * plane; p++) {
                            long j = i * 3 * plane + p;
                            x.set(j, step.cOut() * out.get(i * oc * plane + p) + step.cSkip() * x.get(j));
                        }
                    }
                }
                if (s + 1 < steps) {
                    addNoise(x, draws, shape, schedule.step(s + 1));
                    if (observer != null) {
                        observer.afterStep(step.timestep(), x);
                    }
                }
            }
            return x;
        } catch (RuntimeException | Error e) {
            x.close();
            throw e;
        }
    }

    /** x0 → the next step's state: sqrt(ᾱ)·x0 + sqrt(1 - ᾱ)·ε at the next timestep, in place. */
    private static void addNoise(Tensor x, DecoderNoise.Draws draws, int[] shape, ConsistencySchedule.Step next) {
        try (Tensor eps = draws.next(shape)) {
            for (long j = 0; j < x.numel(); j++) {
                x.set(j, next.sqrtAlphaBar() * x.get(j) + next.sqrtOneMinusAlphaBar() * eps.get(j));
            }
        }
    }

    private static void scale(Tensor x, float f) {
        for (long j = 0; j < x.numel(); j++) {
            x.set(j, f * x.get(j));
        }
    }

    /** (z · scaling_factor - mean_c) / std_c, as float32 operations in the reference's order. */
    private Tensor normalise(Tensor z) {
        int n = z.dim(0), c = z.dim(1);
        long plane = (long) z.dim(2) * z.dim(3);
        Tensor out = Tensor.allocate(z.shape());
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                long base = ((long) i * c + ch) * plane;
                for (long p = 0; p < plane; p++) {
                    out.set(base + p, (z.get(base + p) * scalingFactor - MEANS[ch]) / STDS[ch]);
                }
            }
        }
        return out;
    }

    @Override
    public Moments encode(Tensor image) {
        return requireEncoder().encode(image);
    }

    /** The encoder's raw output: mean, then the unclamped logvar. */
    public Tensor encodeMoments(Tensor image) {
        return requireEncoder().encodeMoments(image);
    }

    private AutoencoderKL requireEncoder() {
        if (encoder == null) {
            throw new VaeException(info.source() + ": this file has no encoder");
        }
        return encoder;
    }

    @Override
    public long decodeMacs(int[] latentShape) {
        return schedule.size() * unet.macs(new int[]{latentShape[0], 7, latentShape[2] * downscale,
                latentShape[3] * downscale});
    }

    @Override
    public long encodeMacs(int[] imageShape) {
        return encoder == null ? 0 : encoder.encodeMacs(imageShape);
    }

    /**
     * The skips the UNet keeps (every down-path output), the largest concatenated input of its first up level
     * and three activations of that size, the 7-channel input and the sampler's state.
     */
    @Override
    public long decodeActivationBytes(int height, int width) {
        UnetConfig c = unet.config();
        long pixels = (long) height * width, skips = 0;
        int[] ch = c.levelChannels();
        for (int i = 0; i < c.levels(); i++) {
            skips += (long) (c.layersPerBlock() + 1) * ch[i] * (pixels >> (2 * i));
        }
        long largest = 2L * ch[0] * pixels;
        return 4 * (skips + 3 * largest + 13 * pixels) + (64L << 20);
    }

    @Override
    public long encodePeakBytes(int height, int width) {
        return encoder == null ? 0 : encoder.encodePeakBytes(height, width);
    }

    @Override
    public void close() {
        if (encoder != null) {
            encoder.close();
        }
        unet.close();
    }
}
