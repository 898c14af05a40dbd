package io.vae4j.model.svd;

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
import io.vae4j.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.SequencedMap;

/**
 * The Stable Video Diffusion VAE (sgm AutoencodingEngine with a VideoDecoder; diffusers
 * AutoencoderKLTemporalDecoder): the KL encoder, which encodes frames one by one, and a {@link TemporalDecoder},
 * which decodes the frames of each video together. Videos are decoded one after another, so a decode holds the
 * activations of one video at a time.
 */
public final class TemporalAutoencoder implements Vae {
    private final Backend backend;
    private final KlConfig config;
    private final TemporalDecoder decoder;
    /** The encoder half (and quant_conv), or null for a decoder-only file. */
    private final AutoencoderKL encoder;
    private final ModelInfo info;

    /** Builds both halves from sgm-named tensors ({@link SvdKeys}); every tensor must be used. */
    public TemporalAutoencoder(Backend backend, WeightSet w, KlConfig config, String layout, LatentSpace space) {
        if (!config.hasDecoder()) {
            throw new VaeException(w.source() + ": temporal decoder tensors without decoder.conv_in.weight");
        }
        if (config.postQuantConv()) {
            throw new VaeException(w.source() + ": a temporal decoder has no post_quant_conv, but this file has one");
        }
        this.backend = backend;
        this.config = config;
        this.decoder = new TemporalDecoder(backend, w, config);
        // The decoder has taken its tensors, so the KL encoder half's check that all are used covers the whole file.
        KlConfig encoderHalf = new KlConfig(config.levelChannels(), config.numResBlocks(), config.latentChannels(),
                config.imageChannels(), config.hasEncoder(), false, config.quantConv(), false,
                config.encoderMidAttention(), false);
        this.encoder = config.hasEncoder() ? new AutoencoderKL(backend, w, encoderHalf, layout, space) : null;
        w.requireAllUsed();
        SequencedMap<String, Long> params = new LinkedHashMap<>();
        if (encoder != null) {
            params.putAll(encoder.info().parameters());
        }
        params.put("decoder", decoder.parameters());
        this.info = new ModelInfo(w.source(), layout, "AutoencoderKLTemporalDecoder (Stable Video Diffusion) "
                + config.describe() + "; temporal decoder: " + decoder.videoBlocks() + " res blocks with a"
                + " Conv3d (3,1,1) temporal block blended by sigmoid(mix_factor), and a temporal conv after conv_out;"
                + " frames of a video decode together (decode --frames T, default: the whole batch is one video)",
                space, params, w.dtypes(), w.storedBytes(), w.convertedBytes());
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
        return true;
    }

    /** Decodes the batch as videos of the frames {@link VideoFrames} holds, or as one video. */
    @Override
    public Tensor decode(Tensor latent) {
        return decode(latent, VideoFrames.current(latent.rank() == 4 ? latent.dim(0) : 1));
    }

    /**
     * Raw latent frames [B·T, z, h, w], frame t of video b at index b·T + t, to images [B·T, 3, 8h, 8w] (pre-clamp).
     *
     * @param frames T, which must divide the batch
     */
    public Tensor decode(Tensor latent, int frames) {
        if (latent.rank() != 4 || latent.dim(1) != config.latentChannels()) {
            throw new VaeException("latent has shape " + Arrays.toString(latent.shape()) + ", but this model expects"
                    + " [B*T, " + config.latentChannels() + ", h, w] (T frames of each of B videos)");
        }
        int n = latent.dim(0);
        if (frames < 1 || n % frames != 0) {
            throw new VaeException("the latent holds " + n + " frames, which is not a multiple of " + frames
                    + " frames per video (--frames)");
        }
        int f = config.downscale();
        Tensor out = Tensor.uninitialized(n, config.imageChannels(), latent.dim(2) * f, latent.dim(3) * f);
        long video = out.numel() / n * frames * 4;
        try {
            for (int v = 0; v < n / frames; v++) {
                try (Tensor z = latent.slice0(v * frames, frames);
                     Tensor image = backend.toNchwConsuming(decoder.forward(backend, z, frames))) {
                    java.lang.foreign.MemorySegment.copy(image.data(), 0, out.data(), v * video, video);
                }
            }
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    @Override
    public Moments encode(Tensor image) {
        return encoderHalf().encode(image);
    }

    /** The raw encoder output [N, 2z, h, w] (see {@link AutoencoderKL#encodeMoments}). */
    public Tensor encodeMoments(Tensor image) {
        return encoderHalf().encodeMoments(image);
    }

    private AutoencoderKL encoderHalf() {
        if (encoder == null) {
            throw new VaeException(info.source() + ": this file has no encoder");
        }
        return encoder;
    }

    @Override
    public long decodeMacs(int[] latentShape) {
        return decoder.macs(latentShape);
    }

    @Override
    public long encodeMacs(int[] imageShape) {
        return encoder == null ? 0 : encoder.encodeMacs(imageShape);
    }

    /**
     * Per frame of a video, which decodes all its frames at once: about five tensors of the largest activation (a
     * block's input, the spatial output, its video view, the temporal convolution's output and the block's output),
     * plus the bounded convolution bands.
     */
    @Override
    public long decodeActivationBytes(int height, int width) {
        int f = config.downscale();
        return 5 * 4 * decoder.largestActivation(new int[]{1, config.latentChannels(), height / f, width / f})
                + (64L << 20);
    }

    @Override
    public long encodePeakBytes(int height, int width) {
        return encoder == null ? 0 : encoder.encodePeakBytes(height, width);
    }

    @Override
    public void close() {
        decoder.close();
        if (encoder != null) {
            encoder.close();
        }
    }
}
