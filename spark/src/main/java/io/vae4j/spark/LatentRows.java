package io.vae4j.spark;

import io.vae4j.VaeException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import scala.jdk.javaapi.CollectionConverters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * The Parquet rows the encode job writes and the decode and export jobs read: one per source image, either a
 * latent or the error that image met.
 */
public final class LatentRows {
    /**
     * path: the image's URI as Spark lists it; width, height: its pixels; latent: float32 little-endian values of
     * shape (NCHW); family and model_sha256: what made it; raw: true for the VAE's own latent, false for diffusion
     * space; error: null, or why this image has no latent (then the latent columns are null).
     */
    public static final StructType SCHEMA = new StructType()
            .add("path", DataTypes.StringType, false)
            .add("width", DataTypes.IntegerType, true)
            .add("height", DataTypes.IntegerType, true)
            .add("latent", DataTypes.BinaryType, true)
            .add("shape", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
            .add("family", DataTypes.StringType, true)
            .add("model_sha256", DataTypes.StringType, true)
            .add("raw", DataTypes.BooleanType, true)
            .add("error", DataTypes.StringType, true);

    private LatentRows() {
    }

    static Row latent(String path, int width, int height, float[] latent, int[] shape, String family, String sha256,
                      boolean raw) {
        return RowFactory.create(path, width, height, bytes(latent),
                CollectionConverters.asScala(Arrays.stream(shape).boxed().toList()).toSeq(), family,
                sha256, raw, null);
    }

    static Row failed(String path, String error) {
        return RowFactory.create(path, null, null, null, null, null, null, null, error);
    }

    /** One row of {@link #SCHEMA}, read back. */
    record Latent(String path, float[] values, int[] shape, boolean raw, String error) {
        static Latent of(Row row) {
            String path = row.getAs("path");
            String error = row.getAs("error");
            if (error != null) {
                return new Latent(path, null, null, false, error);
            }
            List<Integer> dims = row.getList(row.fieldIndex("shape"));
            int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
            float[] values = floats(row.getAs("latent"));
            long count = Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b);
            if (count != values.length) {
                throw new VaeException("row " + path + ": latent holds " + values.length + " values, its shape "
                        + Arrays.toString(shape) + " needs " + count);
            }
            return new Latent(path, values, shape, row.<Boolean>getAs("raw"), null);
        }
    }

    static byte[] bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return b.array();
    }

    static float[] floats(byte[] bytes) {
        float[] v = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
