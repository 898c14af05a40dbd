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
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.Tensor;
import io.vae4j.tensor.Tensors;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/** ./vae4j encode: image in, latent (or moments) out. */
final class EncodeCommand {
    static final String USAGE = "encode [--model M] --image IN --out OUT [--raw] [--moments] [--sample --seed S]"
            + " [--family F] [--threads N] [--backend B] [--precision fp32|bf16] [--max-pixels N] [--tile auto|N]"
            + " [--tiling fast|exact|off] [--memory SIZE] [--scratch DIR] [--attention auto|global|tiled|off]"
            + " [--quiet]";

    private EncodeCommand() {
    }

    static void run(String[] argv) {
        Set<String> values = new HashSet<>(ModelOptions.VALUES);
        values.addAll(Set.of("image", "out", "seed", "max-pixels", "tile", "tiling", "memory",
                "scratch", "attention"));
        Args args = new Args(argv, 1, values, Set.of("raw", "moments", "sample", "quiet"));
        Log.quiet |= args.flag("quiet");
        ModelOptions.family(args);
        Path imagePath = Path.of(args.require("image"));
        Path out = Path.of(args.require("out"));
        ModelOptions.requireFile(imagePath, "image");
        String ext = Outputs.requireWritable(out, Set.of("npy", "latent", "safetensors"));
        if (args.flag("moments") && args.flag("sample")) {
            throw new Args.UsageException("--moments and --sample exclude each other");
        }
        if (args.get("seed") != null && !args.flag("sample")) {
            throw new Args.UsageException("--seed only applies with --sample");
        }
        long seed = args.longValue("seed", 0);
        Tiling tiling = Tiling.of(args, "png", 1);
        String imageExt = Outputs.extension(imagePath);
        boolean streamable = Set.of("png", "tif", "tiff").contains(imageExt);
        if (!streamable && args.get("tiling", "").equalsIgnoreCase("exact")) {
            throw new Args.UsageException("--tiling exact reads .png or .tif images (in strips); " + imagePath
                    + " is ." + imageExt);
        }

        Backend backend = ModelOptions.backend(args);
        try (Model model = ModelOptions.load(args, backend)) {
            Vae vae = model.vae();
            if (streamable && tiling.tiledEncode(vae, imagePath)) {
                long maxTiled = args.longValue("max-pixels", Limits.TILED_MAX_PIXELS);
                try (Moments m = tiling.encode(vae, imagePath, maxTiled)) {
                    if (m.logvar() == null && (args.flag("moments") || args.flag("sample"))) {
                        throw new VaeException("tiled encoding (fast) writes the posterior mean only (no --moments"
                                + " or --sample; --tiling exact has them)");
                    }
                    try (Tensor result = result(m, args, seed, ext, vae.latentSpace())) {
                        LatentFiles.write(out, result);
                        Log.info("wrote " + out + " " + Arrays.toString(result.shape()));
                    }
                }
                return;
            }
            long maxPixels = args.longValue("max-pixels", Limits.DEFAULT_MAX_PIXELS);
            try (Tensor image = Outputs.extension(imagePath).equals("npy") ? Npy.read(imagePath)
                    : Images.read(imagePath, Pipeline.pixelRange(vae))) {
                Limits.checkImage(imagePath, image, vae, maxPixels);
                long start = System.nanoTime();
                try (Moments m = tiling.pipeline().encodeUntiled(vae, image); Tensor result = result(m, args, seed, ext, vae.latentSpace())) {
                    double seconds = (System.nanoTime() - start) / 1e9;
                    LatentFiles.write(out, result);
                    Log.info(String.format("encoded %s -> %s in %.2f s; wrote %s", Arrays.toString(image.shape()),
                            Arrays.toString(result.shape()), seconds, out));
                }
            }
        }
    }

    /**
     * What to write: the moments (raw mean ++ logvar), or the mean or a sample, scaled into diffusion space
     * unless --raw or a ComfyUI .latent (always raw) was asked for.
     */
    private static Tensor result(Moments m, Args args, long seed, String ext, LatentSpace space) {
        if (args.flag("moments")) {
            return m.logvar() == null ? m.mean().copyF32() : Tensors.concatChannels(m.mean(), m.logvar());
        }
        Tensor z = args.flag("sample") ? m.sample(seed) : m.mean().copyF32();
        if (ext.equals("latent") && space.family() == Family.TAESD) {
            // TAESD gives diffusion-space latents; a .latent holds the full VAE's raw ones.
            LatentSpace parent = ModelLoader.parentSpace(z.dim(1), ModelOptions.family(args));
            Log.info("TAESD to a .latent file: unscaling it as " + parent.describe());
            Latents.mapInPlace(z, parent::toRaw);
        } else if (!args.flag("raw") && !ext.equals("latent")) {
            Latents.mapInPlace(z, space::toDiffusion);
        }
        return z;
    }
}
