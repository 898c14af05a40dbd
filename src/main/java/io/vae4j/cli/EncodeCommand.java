package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.backend.Backend;
import io.vae4j.format.image.Images;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Model;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.model.vq.VqModel;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.PatchedLatents;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.Callable;

/** ./vae4j encode: image in, latent (or moments) out. */
@Command(name = "encode",
        description = "Encode an image (.png, .jpg, .tif, .npy) into a latent (.npy, ComfyUI .latent, .safetensors).",
        customSynopsis = {
                "./vae4j encode [--model M] [--comfy-dir DIR] [--download] --image IN --out OUT [--raw] [--moments]",
                "         [--sample --seed S] [--family F] [--threads N] [--backend B] [--precision fp32|bf16]",
                "         [--max-pixels N] [--tile auto|N] [--tiling fast|exact|off] [--memory SIZE] [--scratch DIR]",
                "         [--no-cache] [--attention auto|global|tiled|off] [--quiet]",
                "         [--indices FILE]     (VQ models)"},
        footer = {
                "  ./vae4j encode --image examples/astronaut.png --out photo.latent.npy   # the embedded TAEF2",
                "  ./vae4j encode --model vae.safetensors --family sd1 --image in.png --out z.npy --sample --seed 42",
                "  ./vae4j encode --model vae.safetensors --image in.png --out z.latent     # ComfyUI, raw",
                "  ./vae4j encode --model vq-f4.ckpt --image in.png --out z.npy --indices codes.npy   # VQ"})
final class EncodeCommand implements Callable<Integer> {
    @Mixin
    private ModelOptions model;

    @Option(names = "--image", paramLabel = "IN", order = 2,
            description = "the image: PNG, JPEG, TIFF (what ImageIO reads) or .npy (required)")
    private Path imagePath;

    @Option(names = "--out", paramLabel = "OUT", order = 3,
            description = "the latent: .npy, .latent (ComfyUI's, raw) or .safetensors (required)")
    private Path out;

    @Option(names = "--raw", order = 10,
            description = "write the VAE's own latent, not scaled for diffusion (default: scaled)")
    private boolean raw;

    @Option(names = "--moments", order = 11,
            description = "write mean and logvar, concatenated on channels, raw (default: the mean)")
    private boolean moments;

    @Option(names = "--sample", order = 12,
            description = "write mean + exp(logvar/2)*noise, seeded by --seed (default: the mean)")
    private boolean sample;

    @Option(names = "--seed", paramLabel = "S", order = 13,
            description = "the --sample noise's seed (default: 0)")
    private Long seed;

    @Option(names = "--indices", paramLabel = "FILE", order = 14,
            description = "VQ models: also the codebook indices, int64 .npy [B, H, W] (default: none)")
    private Path indices;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--max-pixels", paramLabel = "N", order = 40,
            description = "refuse larger images (default: 4096x4096, 65536x65536 when tiled)")
    private Long maxPixels;

    @Mixin
    private TilingOptions tilingOptions;

    @Option(names = "--quiet", order = 90, description = "no progress or notes on stderr, errors only")
    private boolean quiet;

    @Override
    public Integer call() {
        Log.quiet |= quiet;
        model.family();
        if (imagePath == null) {
            throw new UsageException("missing --image");
        }
        if (out == null) {
            throw new UsageException("missing --out");
        }
        ModelOptions.requireFile(imagePath, "image");
        String ext = Outputs.requireWritable(out, Set.of("npy", "latent", "safetensors"));
        if (moments && sample) {
            throw new UsageException("--moments and --sample exclude each other");
        }
        if (seed != null && !sample) {
            throw new UsageException("--seed only applies with --sample");
        }
        long sampleSeed = seed != null ? seed : 0;
        if (indices != null) {
            Outputs.requireWritable(indices, Set.of("npy"));
        }
        Tiling tiling = Tiling.of(tilingOptions, "png");
        String imageExt = Outputs.extension(imagePath);
        boolean streamable = Set.of("png", "tif", "tiff").contains(imageExt);
        if (!streamable && tilingOptions.tiling.equalsIgnoreCase("exact")) {
            throw new UsageException("--tiling exact reads .png or .tif images (in strips); " + imagePath
                    + " is ." + imageExt);
        }

        Backend backend = backendOptions.create();
        try (Model loaded = model.load(backend)) {
            Vae vae = loaded.vae();
            VqModel vq = indices == null ? null : VqCodes.require(vae, "--indices");
            if (streamable && tiling.tiledEncode(vae, imagePath)) {
                long maxTiled = maxPixels != null ? maxPixels : Limits.TILED_MAX_PIXELS;
                try (Moments m = tiling.encode(vae, imagePath, maxTiled)) {
                    if (m.logvar() == null && (moments || sample)) {
                        throw new VaeException("tiled encoding (fast) writes the posterior mean only (no --moments"
                                + " or --sample; --tiling exact has them)");
                    }
                    try (Tensor result = result(m, sampleSeed, ext, vae)) {
                        LatentFiles.write(out, result);
                        Log.info("wrote " + out + " " + Arrays.toString(result.shape()));
                        if (vq != null) {
                            VqCodes.writeIndices(vq, m.mean(), indices);
                        }
                    }
                }
                return 0;
            }
            long limit = maxPixels != null ? maxPixels : Limits.DEFAULT_MAX_PIXELS;
            try (Tensor image = Outputs.extension(imagePath).equals("npy") ? Npy.read(imagePath)
                    : Images.read(imagePath, Pipeline.pixelRange(vae))) {
                Limits.checkImage(imagePath, image, vae, limit);
                long start = System.nanoTime();
                try (Moments m = tiling.pipeline().encodeUntiled(vae, image);
                     Tensor result = result(m, sampleSeed, ext, vae)) {
                    double seconds = (System.nanoTime() - start) / 1e9;
                    LatentFiles.write(out, result);
                    if (vq != null) {
                        VqCodes.writeIndices(vq, m.mean(), indices);
                    }
                    Log.info(String.format("encoded %s -> %s in %.2f s; wrote %s", Arrays.toString(image.shape()),
                            Arrays.toString(result.shape()), seconds, out));
                }
            }
        }
        return 0;
    }

    /**
     * What to write: the moments (raw mean ++ logvar), or the mean or a sample, scaled into diffusion space
     * unless --raw or a ComfyUI .latent (always raw, but FLUX.2's in its patches) was asked for.
     */
    private Tensor result(Moments m, long sampleSeed, String ext, Vae vae) {
        if (moments) {
            return m.logvar() == null ? m.mean().copyF32() : Tensors.concatChannels(m.mean(), m.logvar());
        }
        LatentSpace space = vae.latentSpace();
        Tensor z = sample ? m.sample(sampleSeed) : m.mean().copyF32();
        LatentSpace patched = PatchedLatents.forEncode(vae, model.family(), raw, ext.equals("latent"));
        if (patched != null) {
            try (z) {
                return patched.toDiffusion(z);
            }
        }
        if (ext.equals("latent") && space.family() == Family.TAESD) {
            // TAESD gives diffusion-space latents; a .latent holds the full VAE's raw ones.
            LatentSpace parent = ModelLoader.parentSpace(z.dim(1), model.family());
            Log.info("TAESD to a .latent file: unscaling it as " + parent.describe());
            Latents.mapInPlace(z, parent::toRaw);
        } else if (!raw && !ext.equals("latent")) {
            Latents.mapInPlace(z, space::toDiffusion);
        }
        return z;
    }
}
