package io.vae4j.spark;

import io.vae4j.format.npy.Npy;
import io.vae4j.tensor.Tensor;
import org.apache.spark.sql.SparkSession;

/** export: each latent row to a float32 .npy of its shape, named after its source image, for other tools. */
public final class ExportJob {
    private ExportJob() {
    }

    public static WrittenFiles.Outcome run(SparkSession spark, String input, String output) {
        return WrittenFiles.run(SparkInputs.latents(spark, input), output, "npy", (latent, file) -> {
            try (Tensor z = Tensor.of(latent.values(), latent.shape())) {
                Npy.write(file, z);
            }
        });
    }
}
