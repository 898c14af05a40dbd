package io.vae4j.spark;

import io.vae4j.VaeException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * Jobs that turn each latent row into one file in an output folder, named after the row's source image
 * ({@code photos/cat.png} gives {@code cat.png} or {@code cat.npy}). The executors write the files, so the folder
 * must be one they all see (local mode, or a shared file system); each file is written atomically.
 */
final class WrittenFiles {

    /** Writes one row's file, or throws naming what was wrong with the row. */
    interface Writer extends Serializable {
        void write(LatentRows.Latent latent, Path file);
    }

    /** What became of the rows: files written, rows an encode had already failed, and new failures. */
    record Outcome(long written, long skipped, List<String> errors) {
    }

    private static final StructType STATUS = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("error", DataTypes.StringType, true);

    private WrittenFiles() {
    }

    static Outcome run(Dataset<Row> latents, String output, String extension, Writer writer) {
        Path dir = Path.of(output);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new VaeException("output " + output + ": cannot create the folder: " + e.getMessage(), e);
        }
        long skipped = latents.filter(col("error").isNotNull()).count();
        Dataset<Row> ok = latents.filter(col("error").isNull());
        checkUniqueNames(ok.select("path").as(Encoders.STRING()).collectAsList(), extension);
        String out = dir.toAbsolutePath().toString();
        List<Row> status = ok.mapPartitions((MapPartitionsFunction<Row, Row>) it -> Rows.map(it, row -> {
            String path = row.getAs("path");
            try {
                writer.write(LatentRows.Latent.of(row), Path.of(out, fileName(path, extension)));
                return RowFactory.create(path, null);
            } catch (VaeException e) {
                return RowFactory.create(path, e.getMessage());
            } catch (RuntimeException e) {
                return RowFactory.create(path, "row " + path + ": " + e);
            }
        }), Encoders.row(STATUS)).filter(col("error").isNotNull()).collectAsList();
        // Sorted here, not by Spark: a sort samples its input first, which would write every file twice.
        status = status.stream().sorted(Comparator.comparing(r -> r.<String>getAs("path"))).toList();
        long total = ok.count();
        return new Outcome(total - status.size(), skipped, status.stream().map(r -> r.<String>getAs("error")).toList());
    }

    /** The output name of a source image's path or URI: its name without the extension, then this one's. */
    static String fileName(String path, String extension) {
        String name;
        try {
            name = Path.of(URI.create(path).getPath()).getFileName().toString();
        } catch (IllegalArgumentException e) {
            name = Path.of(path).getFileName().toString();
        }
        int dot = name.lastIndexOf('.');
        return (dot > 0 ? name.substring(0, dot) : name) + "." + extension;
    }

    /** Two sources with one stem (a/cat.png, b/cat.jpg) would overwrite each other: refuse before writing any. */
    private static void checkUniqueNames(List<String> paths, String extension) {
        Map<String, String> seen = new HashMap<>();
        for (String path : paths) {
            String other = seen.putIfAbsent(fileName(path, extension), path);
            if (other != null) {
                throw new VaeException("rows " + other + " and " + path + " would both write "
                        + fileName(path, extension) + "; give them distinct file names");
            }
        }
    }
}
