package io.vae4j.spark;

import io.vae4j.VaeException;
import io.vae4j.format.image.Images;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.pipeline.Latents;
import io.vae4j.pipeline.Limits;
import io.vae4j.pipeline.Pipeline;
import io.vae4j.tensor.Tensor;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.apache.spark.sql.functions.col;

/**
 * encode: a folder or glob of images to Parquet latent rows, each image encoded by an executor as the CLI's encode
 * does (the posterior mean in diffusion space by default). An image that fails becomes a row with its error.
 */
public final class EncodeJob {

    /** What the job does; shipped to every task. */
    public record Settings(ModelRef model, String input, String output, boolean raw, boolean sample, long seed,
                           int partitions) implements Serializable {
    }

    /** Image files a folder's listing keeps: what ImageIO reads. A glob keeps whatever it matches. */
    static final String IMAGE_NAMES = "(?i).*\\.(png|jpe?g|tiff?|bmp|gif)$";

    private EncodeJob() {
    }

    /** Runs the job; returns how many images failed (their rows hold the errors). */
    public static long run(SparkSession spark, Settings s) {
        ExecutorModels.get(s.model()); // a model that cannot load fails here, once, not as one error per row
        Dataset<Row> files = SparkInputs.binaryFiles(spark, s.input());
        if (Files.isDirectory(Path.of(s.input()))) {
            files = files.filter(col("path").rlike(IMAGE_NAMES));
        }
        files = files.select("path", "content");
        if (s.partitions() > 0) {
            files = files.repartition(s.partitions());
        } else if (files.rdd().getNumPartitions() < spark.sparkContext().defaultParallelism()) {
            // Spark packs small files into few partitions by their bytes, but an image costs seconds of CPU, not
            // bytes: a folder of a few hundred 512x512 PNGs would be one task on one core.
            files = files.repartition(spark.sparkContext().defaultParallelism());
        }
        Dataset<Row> rows = files.mapPartitions(
                (MapPartitionsFunction<Row, Row>) it -> Rows.map(it, row -> encode(s, row.getString(0),
                        (byte[]) row.get(1))),
                Encoders.row(LatentRows.SCHEMA));
        // Sorting samples its input first (a range partitioner), which without the cache would encode every image
        // twice.
        rows = rows.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            rows.orderBy("path").write().mode(SaveMode.Overwrite).parquet(s.output());
        } finally {
            rows.unpersist();
        }
        // Counted from what was written: the images are not encoded twice.
        Dataset<Row> written = spark.read().parquet(s.output());
        if (written.isEmpty()) {
            throw new VaeException("no images in " + s.input() + " (expected .png, .jpg, .tif, .bmp or .gif files)");
        }
        return written.filter(col("error").isNotNull()).count();
    }

    /** One image's row, as the CLI's encode of that file would write its latent. */
    static Row encode(Settings s, String path, byte[] bytes) {
        try {
            ExecutorModels.Loaded m = ExecutorModels.get(s.model());
            Vae vae = m.vae();
            int[] wh = Images.dimensions(bytes, path);
            Tensor z;
            if (m.pipeline().encodeFits(vae, wh[1], wh[0])) {
                try (Tensor image = Images.read(bytes, path, Pipeline.pixelRange(vae), Limits.DEFAULT_MAX_PIXELS)) {
                    Limits.checkImage(path, image, vae, Limits.DEFAULT_MAX_PIXELS);
                    try (Moments moments = m.pipeline().encodeUntiled(vae, image)) {
                        z = s.sample() ? moments.sample(ImageSeeds.forImage(s.seed(), path))
                                : moments.mean().copyF32();
                    }
                }
            } else if (s.sample()) {
                throw new VaeException("cannot read image " + path + ": at " + wh[0] + "x" + wh[1] + " it is encoded"
                        + " in tiles (fast), which give the posterior mean only (no --sample)");
            } else {
                z = m.pipeline().encodeStaged(vae, path, file -> stagePng(bytes, file), Limits.TILED_MAX_PIXELS);
            }
            try (z) {
                if (!s.raw()) {
                    Latents.mapInPlace(z, vae.latentSpace()::toDiffusion);
                }
                return LatentRows.latent(path, wh[0], wh[1], z.toFloatArray(), z.shape(),
                        vae.latentSpace().family().id, s.model().sha256(), s.raw());
            }
        } catch (VaeException e) {
            return LatentRows.failed(path, e.getMessage());
        } catch (IOException | RuntimeException e) {
            return LatentRows.failed(path, "cannot encode " + path + ": " + e);
        }
    }

    /** The tiled encode reads PNG in strips: a PNG goes as it is, any other format is converted once. */
    private static void stagePng(byte[] bytes, Path file) throws IOException {
        if (Images.looksLikePng(bytes)) {
            Files.write(file, bytes);
        } else if (!ImageIO.write(ImageIO.read(new ByteArrayInputStream(bytes)), "png", file.toFile())) {
            throw new VaeException("this Java runtime cannot write PNG for a tiled encode");
        }
    }
}
