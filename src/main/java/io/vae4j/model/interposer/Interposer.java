package io.vae4j.model.interposer;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.backend.ConvGeometry;
import io.vae4j.format.WeightFile;
import io.vae4j.model.WeightSet;
import io.vae4j.model.nn.Conv;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * city96's SD-Latent-Interposer (v4, interposer.InterposerModel in eval mode): a small network that maps the raw
 * latents of one diffusion family into another's (SD1.x, SDXL, SD3, FLUX.1), so that a latent can move between
 * models without a VAE decode and encode. It maps latents to latents, so it is not a {@link io.vae4j.model.Vae}.
 *
 * <p>head (widen to 64 channels) → [nearest resample] → residual blocks → BatchNorm → SiLU → tail (3x3 convolution
 * to the output channels). Thread-safe like the VAEs: weights are read-only and every call allocates its own
 * activations. Owns the weight file its tensors are mapped from.
 */
public final class Interposer implements AutoCloseable {
    private final Backend backend;
    private final WeightFile file;
    private final InterposerConfig config;
    private final ExtractBlock head;
    private final List<ResBlock> blocks;
    private final BatchNorm outNorm;
    private final Conv tail;
    private final String dtypes;
    private final long storedBytes;
    private final long convertedBytes;

    private Interposer(Backend backend, WeightFile file, WeightSet w, InterposerConfig c) {
        this.backend = backend;
        this.file = file;
        this.config = c;
        this.head = new ExtractBlock(backend, w, "head", c.channelsIn(), c.width());
        List<ResBlock> core = new ArrayList<>();
        // core.0 is the parameterless Upsample, then the blocks, then the BatchNorm, then SiLU.
        for (int i = 1; i <= c.blocks(); i++) {
            core.add(new ResBlock(backend, w, "core." + i, c.width()));
        }
        this.blocks = List.copyOf(core);
        this.outNorm = new BatchNorm(w, "core." + (c.blocks() + 1), c.width());
        this.tail = new Conv(backend, w, "tail", c.width(), c.channelsOut(), ConvGeometry.same3x3());
        w.requireAllUsed();
        this.dtypes = w.dtypes();
        this.storedBytes = w.storedBytes();
        this.convertedBytes = w.convertedBytes();
    }

    /** Builds the interposer a weight file holds; takes ownership of {@code file} (closed here on failure). */
    public static Interposer load(Backend backend, WeightFile file) {
        try {
            WeightSet w = new WeightSet(file.path().toString(), file.tensors(), file.skipped());
            String name = file.path().getFileName() == null ? "" : file.path().getFileName().toString();
            return new Interposer(backend, file, w, InterposerConfig.infer(w, name));
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    public InterposerConfig config() {
        return config;
    }

    public String source() {
        return file.path().toString();
    }

    /**
     * Fails, naming {@code what} and the channels this interposer's variant expects, unless {@code shape} is a
     * latent it can take.
     */
    public void requireInput(String what, int[] shape) {
        if (shape.length != 4 || shape[1] != config.channelsIn()) {
            throw new VaeException(what + ": " + (shape.length == 4 ? shape[1] + "-channel latent "
                    : "shape ") + Arrays.toString(shape) + ", but this interposer (" + config.variant()
                    + ") expects " + config.channelsIn() + " channels (" + InterposerConfig.models(config.channelsIn())
                    + ")");
        }
        if (shape[2] * config.scale() < 1 || shape[3] * config.scale() < 1) {
            throw new VaeException(what + ": latent " + Arrays.toString(shape) + " is too small for this interposer");
        }
    }

    /** Raw latent [N, in, h, w] (float32, NCHW) to raw latent [N, out, h·scale, w·scale], a new tensor. */
    public Tensor convert(Tensor latent) {
        requireInput("latent", latent.shape());
        Tensor h = head.forward(backend, latent);
        if (config.scale() != 1) {
            h = Resample.nearest(backend.toNchwConsuming(h), config.scale());
        }
        for (Layer block : blocks) {
            h = block.forwardConsuming(backend, h);
        }
        try (Tensor x = h; Tensor normed = backend.groupNorm(x, outNorm.spec(true))) {
            return backend.toNchwConsuming(tail.forward(backend, normed));
        }
    }

    /** Weights per part, in graph order (BatchNorm running statistics counted, as the reference's state dict). */
    public SequencedMap<String, Long> parameters() {
        SequencedMap<String, Long> p = new LinkedHashMap<>();
        p.put("head", head.parameters());
        p.put("core", blocks.stream().mapToLong(Layer::parameters).sum() + outNorm.parameters());
        p.put("tail", tail.parameters());
        return p;
    }

    public long totalParameters() {
        return parameters().values().stream().mapToLong(Long::longValue).sum();
    }

    public String dtypes() {
        return dtypes;
    }

    public long weightBytes() {
        return storedBytes;
    }

    public long convertedBytes() {
        return convertedBytes;
    }

    @Override
    public void close() {
        head.close();
        blocks.forEach(ResBlock::close);
        outNorm.close();
        tail.close();
        file.close();
    }
}
