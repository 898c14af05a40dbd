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
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** ./vae4j decode: latent file in, image(s) out. */
final class DecodeCommand {
    static final String USAGE = "decode [--model M] --latent IN --out OUT [--raw] [--family F] [--threads N]"
            + " [--backend B] [--precision fp32|bf16] [--max-pixels N] [--preview-scale 1|2|4|8] [--tile auto|N]"
            + " [--tiling fast|exact|off] [--memory SIZE] [--bit-depth 8|16] [--scratch DIR]"
            + " [--attention auto|global|tiled|off] [--quiet]";

    private DecodeCommand() {
    }

    static void run(String[] argv) {
        Set<String> values = new HashSet<>(ModelOptions.VALUES);
        values.addAll(Set.of("latent", "out", "max-pixels", "preview-scale", "tile", "tiling", "memory",
                "bit-depth", "scratch", "attention"));
        Args args = new Args(argv, 1, values, Set.of("raw", "quiet"));
        Log.quiet |= args.flag("quiet");
        ModelOptions.family(args);
        Path latentPath = Path.of(args.require("latent"));
        Path out = Path.of(args.require("out"));
        ModelOptions.requireFile(latentPath, "latent");
        String ext = Outputs.requireWritable(out, Set.of("png", "npy", "tif", "tiff"));
        int preview = previewScale(args);
        Tiling tiling = Tiling.of(args, ext, preview);

        Backend backend = ModelOptions.backend(args);
        try (Model model = ModelOptions.load(args, backend);
             LatentFiles.Latent latent = LatentFiles.read(latentPath)) {
            Vae vae = model.vae();
            Tensor z = latent.tensor();
            boolean tiled = tiling.tiled(vae, z);
            long maxPixels = args.longValue("max-pixels", tiled ? Limits.TILED_MAX_PIXELS : Limits.DEFAULT_MAX_PIXELS);
            Limits.checkLatent(latentPath, z, vae, maxPixels);
            boolean raw = args.flag("raw") || latent.raw();
            Tensor rawZ;
            if (latent.raw() && vae.latentSpace().family() == Family.TAESD) {
                // A .latent holds the full VAE's raw latents; TAESD wants them in diffusion space.
                LatentSpace parent = ModelLoader.parentSpace(z.dim(1), ModelOptions.family(args));
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
                if (tiled) {
                    tiling.decode(vae, rawZ, out, ext, args.flag("quiet"));
                    return;
                }
                long start = System.nanoTime();
                try (Tensor image = tiling.pipeline().decodeUntiled(vae, rawZ, preview)) {
                    double seconds = (System.nanoTime() - start) / 1e9;
                    long nonFinite = Limits.countNonFinite(image);
                    if (nonFinite > 0) {
                        Log.warn(nonFinite + " output values are NaN or infinite (written as 0 in PNG)");
                    }
                    List<Path> written = ext.equals("npy") ? write(out, image)
                            : ext.equals("png") && tiling.bitDepth() == 8
                            ? Images.writePngs(out, image, Pipeline.pixelRange(vae))
                            : Tiling.writeWhole(out, ext, tiling.bitDepth(), image, Pipeline.pixelRange(vae));
                    Log.info(String.format("decoded %s -> %s in %.2f s; wrote %s", Arrays.toString(z.shape()),
                            Arrays.toString(image.shape()), seconds, written.size() == 1 ? written.getFirst()
                                    : written.size() + " files"));
                }
            }
        }
    }


    /** --preview-scale: 1 (the default, a full decode), 2, 4 or 8. */
    private static int previewScale(Args args) {
        int scale = args.integer("preview-scale", 1);
        if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
            throw new Args.UsageException("--preview-scale must be 1, 2, 4 or 8, got " + scale);
        }
        return scale;
    }


    private static List<Path> write(Path out, Tensor image) {
        Npy.write(out, image);
        return List.of(out);
    }

}
