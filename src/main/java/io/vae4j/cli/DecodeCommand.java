package io.vae4j.cli;

import io.vae4j.backend.Backend;
import io.vae4j.format.image.Images;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Model;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.LatentMismatch;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.PatchedLatents;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** ./vae4j decode: latent file in, image(s) out. */
@Command(name = "decode",
        description = "Decode a latent (.npy, ComfyUI .latent, .safetensors) into an image (.png, .tif or .npy).",
        customSynopsis = {
                "./vae4j decode [--model M] [--comfy-dir DIR] [--download] --latent IN --out OUT [--raw] [--frames T]",
                "         [--family F] [--threads N] [--backend B] [--precision fp32|bf16] [--no-cache] [--max-pixels N]",
                "         [--preview-scale 1|2|4|8] [--tile auto|N] [--tiling fast|exact|off] [--memory SIZE]",
                "         [--bit-depth 8|16] [--scratch DIR] [--attention auto|global|tiled|off]",
                "         [--seed S | --noise FILE.npy --noise FILE.npy] [--quiet]",
                "         [--indices FILE (instead of --latent)] [--no-quantize]     (VQ models)"},
        footer = {
                "  ./vae4j decode --latent photo.latent.npy --out roundtrip.png      # the embedded TAEF2",
                "  ./vae4j decode --model sdxl_vae.safetensors --family sdxl --latent z.npy --out image.png",
                "  ./vae4j decode --model svd_xt/vae --latent frames.npy --frames 14 --out frame.png   # frame.0.png, ...",
                "  ./vae4j decode --model madebyollin/sdxl-vae-fp16-fix --download --latent z.npy --out image.png",
                "  ./vae4j decode --model vae.safetensors --latent big.npy --out big.tif --memory 1g --tiling exact",
                "  ./vae4j decode --model consistency-decoder/ --latent z.npy --out image.png --seed 7",
                "  ./vae4j decode --model vq-f4.ckpt --indices codes.npy --out image.png    # a VQ model's codes"})
final class DecodeCommand implements Callable<Integer> {
    @Mixin
    private ModelOptions model;

    @Option(names = "--latent", paramLabel = "IN", order = 2,
            description = "the latent: .npy, ComfyUI .latent or .safetensors (required)")
    private Path latentPath;

    @Option(names = "--out", paramLabel = "OUT", order = 3,
            description = "image: .png, .tif, .npy; a batch: out.0.png, ...; video: .gif (required)")
    private Path out;

    @Option(names = "--raw", order = 10,
            description = "the latent is the VAE's own, not scaled for diffusion (default: scaled)")
    private boolean raw;

    @Option(names = "--indices", paramLabel = "FILE", order = 4,
            description = "VQ models: codes (int64 .npy [B, H, W]) instead of --latent (default: none)")
    private Path indicesPath;

    @Option(names = "--no-quantize", order = 14,
            description = "VQ models: decode the latent as it is, not its nearest codebook entries")
    private boolean noQuantize;

    @Mixin
    private FramesOption frames;

    @Mixin
    private BackendOptions backendOptions;

    @Option(names = "--max-pixels", paramLabel = "N", order = 40,
            description = "refuse larger images (default: 4096x4096, 65536x65536 when tiled)")
    private Long maxPixels;

    @Option(names = "--preview-scale", paramLabel = "1|2|4|8", order = 41, defaultValue = "1",
            description = "TAESD: a cheap 1/S-size preview (default: ${DEFAULT-VALUE}, the full image)")
    private int previewScale;

    @Mixin
    private TilingOptions tilingOptions;

    @Option(names = "--bit-depth", paramLabel = "8|16", order = 53, defaultValue = "8",
            description = "bits per channel of .png and .tif outputs (default: ${DEFAULT-VALUE})")
    private int bitDepth;

    @Mixin
    private NoiseOptions noiseOptions;

    @Option(names = "--quiet", order = 90, description = "no progress or notes on stderr, errors only")
    private boolean quiet;

    @Override
    public Integer call() {
        Log.quiet |= quiet;
        model.family();
        if (latentPath == null && indicesPath == null) {
            throw new UsageException("missing --latent");
        }
        if (latentPath != null && indicesPath != null) {
            throw new UsageException("--latent and --indices exclude each other");
        }
        Path input = latentPath != null ? latentPath : indicesPath;
        if (out == null) {
            throw new UsageException("missing --out");
        }
        ModelOptions.requireFile(input, latentPath != null ? "latent" : "indices");
        String ext = Outputs.requireWritable(out, Set.of("png", "npy", "tif", "tiff", "gif"));
        int preview = previewScale();
        Tiling tiling = Tiling.of(tilingOptions, bitDepth, ext, preview);

        Backend backend = backendOptions.create();
        try (Model loaded = model.load(backend);
             LatentFiles.Latent latent = latentPath != null ? LatentFiles.read(latentPath)
                     : new LatentFiles.Latent(VqCodes.readIndices(VqCodes.require(loaded.vae(), "--indices"),
                     indicesPath), true);
             Tensor unpatched = latentPath == null ? null
                     : PatchedLatents.unpatch(latentPath, loaded.vae(), model.family(), raw, latent.tensor())) {
            Vae vae = VqCodes.decoding(loaded.vae(), noQuantize, indicesPath != null);
            Tensor z = unpatched != null ? unpatched : latent.tensor();
            if (unpatched != null) {
                Log.info("FLUX.2 latent " + Arrays.toString(latent.tensor().shape()) + " out of its 2x2 patches: "
                        + Arrays.toString(z.shape()));
            }
            int videoFrames = frames.check(vae, z, tiling.pipeline().options(), out);
            boolean videoTiled = videoFrames > 0
                    && FramesOption.tiled(vae, z, videoFrames, tiling.pipeline().options(), ext);
            boolean tiled = videoTiled || videoFrames == 0 && tiling.tiled(vae, z);
            long limit = maxPixels != null ? maxPixels : tiled ? Limits.TILED_MAX_PIXELS : Limits.DEFAULT_MAX_PIXELS;
            Limits.checkLatent(input, z, vae, limit);
            boolean raw = this.raw || latent.raw() || unpatched != null;
            Tensor rawZ;
            if (latent.raw() && unpatched == null && vae.latentSpace().family() == Family.TAESD) {
                // A .latent holds the full VAE's raw latents; TAESD wants them in diffusion space.
                LatentSpace parent = ModelLoader.parentSpace(z.dim(1), model.family());
                Log.info("TAESD on a .latent file: scaling it as " + parent.describe());
                rawZ = Latents.map(z, parent::toDiffusion);
            } else if (raw || Latents.isIdentity(vae.latentSpace())) {
                // A view, not a copy: a huge TAESD latent would otherwise be resident twice (512 MiB each for a
                // 16384x16384 taef2 decode).
                rawZ = z.dtype() == DType.F32 ? z.reshape(z.shape()) : z.copyF32();
            } else {
                rawZ = Latents.map(z, vae.latentSpace()::toRaw);
            }
            try (rawZ) {
                String mismatch = LatentMismatch.check(vae.latentSpace(), rawZ);
                if (mismatch != null) {
                    Log.warn(input + ": " + mismatch);
                }
                if (videoTiled) {
                    tiling.decodeVideos(vae, rawZ, videoFrames, out, ext);
                    return 0;
                }
                if (tiled) {
                    noiseOptions.around(vae, z.shape(), () -> {
                        tiling.decode(vae, rawZ, out, ext, quiet);
                        return null;
                    });
                    return 0;
                }
                long start = System.nanoTime();
                try (Tensor image = noiseOptions.around(vae, z.shape(), () -> FramesOption.run(videoFrames,
                        () -> tiling.pipeline().decodeUntiled(vae, rawZ, preview)))) {
                    double seconds = (System.nanoTime() - start) / 1e9;
                    long nonFinite = Limits.countNonFinite(image);
                    if (nonFinite > 0) {
                        Log.warn(nonFinite + " output values are NaN or infinite (written as 0 in PNG)");
                    }
                    List<Path> written = ext.equals("npy") ? write(out, image)
                            : ext.equals("gif") ? FramesOption.writeGif(out, image, videoFrames, Pipeline.pixelRange(vae))
                            : ext.equals("png") && tiling.bitDepth() == 8
                            ? Images.writePngs(out, image, Pipeline.pixelRange(vae))
                            : Tiling.writeWhole(out, ext, tiling.bitDepth(), image, Pipeline.pixelRange(vae));
                    Log.info(String.format("decoded %s -> %s in %.2f s; wrote %s", Arrays.toString(z.shape()),
                            Arrays.toString(image.shape()), seconds, written.size() == 1 ? written.getFirst()
                                    : written.size() + " files"));
                }
            }
        }
        return 0;
    }

    /** --preview-scale: 1 (the default, a full decode), 2, 4 or 8. */
    private int previewScale() {
        if (previewScale != 1 && previewScale != 2 && previewScale != 4 && previewScale != 8) {
            throw new UsageException("--preview-scale must be 1, 2, 4 or 8, got " + previewScale);
        }
        return previewScale;
    }

    private static List<Path> write(Path out, Tensor image) {
        Npy.write(out, image);
        return List.of(out);
    }

}
