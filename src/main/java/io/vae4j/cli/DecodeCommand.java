package io.vae4j.cli;

import io.vae4j.backend.Backend;
import io.vae4j.format.image.Images;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.Model;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** ./vae4j decode: latent file in, image(s) out. */
final class DecodeCommand {
    static final String USAGE = "decode --model M --latent IN --out OUT [--raw] [--family F] [--threads N]"
            + " [--backend B] [--max-pixels N] [--quiet]";

    private DecodeCommand() {
    }

    static void run(String[] argv) {
        Set<String> values = new HashSet<>(ModelOptions.VALUES);
        values.addAll(Set.of("latent", "out", "max-pixels"));
        Args args = new Args(argv, 1, values, Set.of("raw", "quiet"));
        Log.quiet |= args.flag("quiet");
        ModelOptions.family(args);
        Path latentPath = Path.of(args.require("latent"));
        Path out = Path.of(args.require("out"));
        ModelOptions.requireFile(latentPath, "latent");
        String ext = Outputs.requireWritable(out, Set.of("png", "npy"));
        long maxPixels = args.longValue("max-pixels", Limits.DEFAULT_MAX_PIXELS);

        Backend backend = ModelOptions.backend(args);
        try (Model model = ModelOptions.load(args, backend);
             LatentFiles.Latent latent = LatentFiles.read(latentPath)) {
            Vae vae = model.vae();
            Tensor z = latent.tensor();
            Limits.checkLatent(latentPath, z, vae, maxPixels);
            boolean raw = args.flag("raw") || latent.raw();
            long start = System.nanoTime();
            Tensor image;
            if (raw) {
                image = vae.decode(z);
            } else {
                try (Tensor rawZ = toRaw(z, vae.latentSpace())) {
                    image = vae.decode(rawZ);
                }
            }
            try (image) {
                double seconds = (System.nanoTime() - start) / 1e9;
                long nonFinite = Limits.countNonFinite(image);
                if (nonFinite > 0) {
                    Log.warn(nonFinite + " output values are NaN or infinite (written as 0 in PNG)");
                }
                List<Path> written = ext.equals("npy") ? write(out, image) : Images.writePngs(out, image,
                        Ranges.of(vae.imageRange()));
                Log.info(String.format("decoded %s -> %s in %.2f s; wrote %s", Arrays.toString(z.shape()),
                        Arrays.toString(image.shape()), seconds, written.size() == 1 ? written.getFirst()
                                : written.size() + " files"));
            }
        }
    }

    private static List<Path> write(Path out, Tensor image) {
        Npy.write(out, image);
        return List.of(out);
    }

    /** Diffusion-space latent to the VAE's raw space: z / scale + shift. */
    static Tensor toRaw(Tensor z, LatentSpace space) {
        Tensor out = Tensor.allocate(z.shape());
        for (long i = 0; i < z.numel(); i++) {
            out.set(i, space.toRaw(z.get(i)));
        }
        return out;
    }
}
