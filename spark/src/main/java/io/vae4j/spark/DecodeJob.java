package io.vae4j.spark;

import io.vae4j.VaeException;
import io.vae4j.format.image.Images;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.Tensor;
import org.apache.spark.sql.SparkSession;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * decode: each latent row to an image named after its source (.png, or .npy as the CLI writes it: the model's own
 * range, [0, 1] for TAESD, [-1, 1] otherwise), decoded by an executor as the CLI's decode does.
 */
public final class DecodeJob {

    /** What the job does; shipped to every task. */
    public record Settings(ModelRef model, String input, String output, String format, int partitions)
            implements Serializable {
    }

    private DecodeJob() {
    }

    public static WrittenFiles.Outcome run(SparkSession spark, Settings s) {
        if (!s.format().equals("png") && !s.format().equals("npy")) {
            throw new VaeException("--format must be png or npy, got '" + s.format() + "'");
        }
        ExecutorModels.get(s.model());
        var rows = SparkInputs.latents(spark, s.input());
        if (s.partitions() > 0) {
            rows = rows.repartition(s.partitions());
        }
        return WrittenFiles.run(rows, s.output(), s.format(), (latent, file) -> decode(s, latent, file));
    }

    private static void decode(Settings s, LatentRows.Latent latent, Path file) {
        ExecutorModels.Loaded m = ExecutorModels.get(s.model());
        Vae vae = m.vae();
        if (latent.shape().length != 4 || latent.shape()[0] != 1) {
            throw new VaeException("row " + latent.path() + ": latent shape " + Arrays.toString(latent.shape())
                    + ", expected [1, C, h, w]");
        }
        try (Tensor z = Tensor.of(latent.values(), latent.shape())) {
            Limits.checkLatent(latent.path(), z, vae, Limits.TILED_MAX_PIXELS);
            if (!latent.raw()) {
                Latents.mapInPlace(z, vae.latentSpace()::toRaw);
            }
            try (Tensor image = m.pipeline().decodeWhole(vae, z)) {
                if (s.format().equals("npy")) {
                    Npy.write(file, image);
                } else {
                    Images.writePng(file, image, Pipeline.pixelRange(vae), 0);
                }
            }
        }
    }
}
