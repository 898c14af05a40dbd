package io.vae4j.spark;

import io.vae4j.VaeException;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.util.Arrays;

/** The jobs' inputs, with Spark's missing-path errors turned into one line naming the path. */
final class SparkInputs {
    private SparkInputs() {
    }

    /** Files as rows (path, modificationTime, length, content) through Spark's binary-file source. */
    static Dataset<Row> binaryFiles(SparkSession spark, String input) {
        try {
            return spark.read().format("binaryFile").load(input);
        } catch (Exception e) {
            throw missing(input, e);
        }
    }

    /**
     * Spark's errors on reading an input (a missing path; a file that is not Parquet, found while its schema is
     * read) as one line naming the input; a runtime exception (a bug) as it is.
     */
    private static RuntimeException missing(String input, Exception e) {
        if (e instanceof RuntimeException r && !(e instanceof VaeException)) {
            return r;
        }
        String message = e instanceof AnalysisException a ? a.getSimpleMessage() : e.getMessage();
        return new VaeException("input " + input + ": " + message.lines().findFirst().orElse(""), e);
    }

    /** The rows an encode job wrote. */
    static Dataset<Row> latents(SparkSession spark, String input) {
        Dataset<Row> rows;
        try {
            rows = spark.read().parquet(input);
        } catch (Exception e) {
            throw missing(input, e);
        }
        for (String column : new String[]{"path", "latent", "shape", "raw", "error"}) {
            if (!Arrays.asList(rows.columns()).contains(column)) {
                throw new VaeException("input " + input + ": no column '" + column + "' (expected the Parquet rows"
                        + " vae4j-spark encode writes)");
            }
        }
        return rows;
    }
}
