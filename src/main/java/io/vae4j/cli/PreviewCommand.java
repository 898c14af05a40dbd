package io.vae4j.cli;

import io.vae4j.VaeException;
import io.vae4j.format.image.Images;
import io.vae4j.tiles.io.StreamingPngWriter;
import io.vae4j.format.image.PixelRange;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.model.Family;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.preview.LatentPreview;
import io.vae4j.model.preview.PreviewFactors;
import io.vae4j.pipeline.Latents;
import io.vae4j.tensor.Tensor;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** ./vae4j preview: a latent's colours at a glance, from a linear projection instead of a decoder. */
@Command(name = "preview",
        description = {"Preview a latent without a VAE: the per-family linear latent-to-RGB projection that UIs show"
                + " while sampling (ComfyUI's latent_rgb_factors), at latent resolution or enlarged.",
                "For a better preview, decode with a TAESD model and --preview-scale: still cheap, far closer to the"
                        + " real image."},
        customSynopsis = "./vae4j preview --latent IN --out OUT.png [--family F] [--raw] [--scale N] [--quiet]",
        footer = {
                "  ./vae4j preview --latent z.npy --family sdxl --out preview.png",
                "  ./vae4j preview --latent sample.latent --family flux1 --out preview.png --scale 8   # image size"})
final class PreviewCommand implements Callable<Integer> {
    @Option(names = "--latent", paramLabel = "IN", order = 2,
            description = "the latent: .npy, ComfyUI .latent or .safetensors (required)")
    private Path latentPath;

    @Option(names = "--out", paramLabel = "OUT", order = 3,
            description = "the preview .png; a batch: out.0.png, ... (required)")
    private Path out;

    @Option(names = "--family", paramLabel = "F", order = 4, completionCandidates = Choices.FamilyIds.class,
            description = "${COMPLETION-CANDIDATES} (default: the one the latent file's metadata names)")
    private String family;

    @Option(names = "--raw", order = 10,
            description = "the latent is the VAE's own, not scaled for diffusion (default: scaled; .latent: raw)")
    private boolean raw;

    @Option(names = "--scale", paramLabel = "N", order = 11, defaultValue = "1",
            description = "enlarge N times, nearest neighbour; 8 is the image's size (default: ${DEFAULT-VALUE})")
    private int scale;

    @Option(names = "--quiet", order = 90, description = "no notes on stderr, errors only")
    private boolean quiet;

    @Override
    public Integer call() {
        Log.quiet |= quiet;
        if (latentPath == null) {
            throw new UsageException("missing --latent");
        }
        if (out == null) {
            throw new UsageException("missing --out");
        }
        if (scale < 1 || scale > LatentPreview.MAX_SCALE) {
            throw new UsageException("--scale must be 1 to " + LatentPreview.MAX_SCALE + ", got " + scale);
        }
        Family chosen = ModelOptions.family(family);
        ModelOptions.requireFile(latentPath, "latent");
        Outputs.requireWritable(out, Set.of("png"));
        Family f = chosen != null ? chosen : familyFromFile();
        PreviewFactors factors = PreviewFactors.of(f);
        if (factors == null) {
            throw new UsageException("--family " + f.id + " has no linear preview (known: " + PreviewFactors.FAMILIES
                    + "); decode with a TAESD model and --preview-scale instead");
        }
        try (LatentFiles.Latent latent = LatentFiles.read(latentPath)) {
            Tensor z = latent.tensor();
            if (z.dim(1) != factors.channels()) {
                throw new VaeException(latentPath + ": " + z.dim(1) + "-channel latent, but " + f.id
                        + " latents have " + factors.channels() + " channels (this looks like "
                        + Family.guessFromChannels(z.dim(1)) + ")");
            }
            long start = System.nanoTime();
            LatentSpace space = LatentSpace.of(f, "--family");
            // The factors were fitted to the diffusion model's latents: raw ones are scaled first.
            try (Tensor diffusion = raw || latent.raw() ? Latents.map(z, space::toDiffusion) : null;
                 Tensor rgb = LatentPreview.project(diffusion != null ? diffusion : z, factors, scale)) {
                double ms = (System.nanoTime() - start) / 1e6;
                List<Path> written = writePngs(rgb);
                Log.info(String.format("preview of %s (%s) -> %dx%d in %.2f ms; wrote %s", Arrays.toString(z.shape()),
                        f.id, rgb.dim(3), rgb.dim(2), ms, written.size() == 1 ? written.getFirst()
                                : written.size() + " files"));
            }
        }
        return 0;
    }

    /**
     * Each preview as a PNG at deflate level 1 with the Up filter: ImageIO's default encoder took 14-20 ms for a
     * 1024x1024 preview, three times the projection; a preview is shown and replaced, not archived.
     */
    private List<Path> writePngs(Tensor rgb) {
        int n = rgb.dim(0);
        List<Path> written = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Path file = n == 1 ? out : Images.batchPath(out, i);
            try (Tensor one = rgb.slice0(i, 1);
                 StreamingPngWriter png = StreamingPngWriter.open(file, rgb.dim(3), rgb.dim(2), 8, 1,
                         StreamingPngWriter.Filter.UP)) {
                png.writeRows(one, PixelRange.MINUS_ONE_ONE);
            }
            written.add(file);
        }
        return written;
    }

    /** The family a .latent or .safetensors file's metadata names; else the user has to say. */
    private Family familyFromFile() {
        String named = LatentFiles.metadata(latentPath).get(LatentFiles.FAMILY_KEY);
        if (named == null) {
            throw new UsageException("missing --family (" + PreviewFactors.FAMILIES + "): " + latentPath
                    + " does not say which family its latent belongs to");
        }
        Family f = Family.parse(named);
        if (f == null || PreviewFactors.of(f) == null) {
            throw new VaeException(latentPath + ": metadata family '" + named + "' has no preview projection"
                    + " (known: " + PreviewFactors.FAMILIES + "); pass --family");
        }
        Log.info("family " + f.id + " (from " + latentPath.getFileName() + "'s metadata)");
        return f;
    }
}
