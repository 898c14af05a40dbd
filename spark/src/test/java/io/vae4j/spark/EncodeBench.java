package io.vae4j.spark;

import io.vae4j.VaeModel;
import org.apache.spark.sql.SparkSession;

import javax.imageio.ImageIO;
import java.awt.Image;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * images/s of 512x512 encodes: a single-process loop through VaeModel (one model, all cores per image) against
 * the encode job on local[2] (two tasks of one thread) and local[1]; medians of a few rounds after a warm-up.
 * Run by bench/spark-encode.sh: java EncodeBench MODEL IMAGES ROUNDS.
 */
public final class EncodeBench {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int images = Integer.parseInt(args[1]), rounds = Integer.parseInt(args[2]);
        Path dir = Files.createTempDirectory("vae4j-spark-bench");
        BufferedImage src = ImageIO.read(Path.of(System.getProperty("vae4j.root", "..")).resolve(
                "examples/astronaut.png").toFile());
        for (int i = 0; i < images; i++) {
            BufferedImage big = new BufferedImage(512, 512, BufferedImage.TYPE_INT_RGB);
            // Each image a different crop, so no two are alike.
            big.getGraphics().drawImage(src.getSubimage(i % 32, i % 32, 160, 160)
                    .getScaledInstance(512, 512, Image.SCALE_SMOOTH), 0, 0, null);
            ImageIO.write(big, "png", dir.resolve("img" + i + ".png").toFile());
        }
        int cores = Runtime.getRuntime().availableProcessors();
        try (VaeModel vae = VaeModel.load(model, VaeModel.Options.defaults().withThreads(cores))) {
            double[] t = new double[rounds + 1];
            for (int r = 0; r <= rounds; r++) {
                long start = System.nanoTime();
                for (int i = 0; i < images; i++) {
                    vae.encode(ImageIO.read(dir.resolve("img" + i + ".png").toFile()));
                }
                t[r] = (System.nanoTime() - start) / 1e9;
            }
            report("single process, " + cores + " threads", images, t);
        }
        // As the Spark job runs them: one image per core at once, one thread each, but with no Spark around them.
        // What this loses against the row above is the machine's (caches, memory bandwidth), not Spark's.
        try (VaeModel vae = VaeModel.load(model, VaeModel.Options.defaults().withThreads(1))) {
            double[] t = new double[rounds + 1];
            for (int r = 0; r <= rounds; r++) {
                long start = System.nanoTime();
                AtomicInteger next = new AtomicInteger();
                Thread[] workers = new Thread[cores];
                for (int w = 0; w < cores; w++) {
                    workers[w] = Thread.ofPlatform().start(() -> {
                        try {
                            for (int i; (i = next.getAndIncrement()) < images; ) {
                                vae.encode(ImageIO.read(dir.resolve("img" + i + ".png").toFile()));
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                }
                for (Thread w : workers) {
                    w.join();
                }
                t[r] = (System.nanoTime() - start) / 1e9;
            }
            report("single process, " + cores + " images at once", images, t);
        }
        for (String master : new String[]{"local[2]", "local[1]"}) {
            SparkSession spark = SparkSession.builder().master(master).config("spark.ui.enabled", "false")
                    .getOrCreate();
            ModelRef ref = ModelRef.of(model, null, 1);
            double[] t = new double[rounds + 1];
            for (int r = 0; r <= rounds; r++) {
                long start = System.nanoTime();
                EncodeJob.run(spark, new EncodeJob.Settings(ref, dir.toString(), dir.resolve("out" + r + ".parquet")
                        .toString(), false, false, 0, 0));
                t[r] = (System.nanoTime() - start) / 1e9;
            }
            report("encode job, " + master, images, t);
            spark.stop();
        }
    }

    /** The first round is the warm-up (JIT, model load); the median of the rest is reported. */
    private static void report(String what, int images, double[] seconds) {
        double[] timed = Arrays.copyOfRange(seconds, 1, seconds.length);
        Arrays.sort(timed);
        double median = timed[timed.length / 2];
        System.out.printf("%-34s %6.2f images/s  (median %.2f s for %d images; rounds %s)%n", what,
                images / median, median, images, Arrays.toString(seconds));
    }
}
