package io.vae4j.spark;

import io.vae4j.VaeModel;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.TiledDecoder;
import io.vae4j.tiles.plan.Tile;
import io.vae4j.tiles.plan.TilePlan;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jobs in local[2] against the single-machine CLI (./vae4j, run as a process) on a few small crops of the
 * example image and the embedded TAEF2: latents within 1e-5, PNGs within 1 of 255, whatever the partitioning.
 */
class SparkJobsTest {
    static final Path ROOT = Path.of(System.getProperty("vae4j.root", "..")).toAbsolutePath().normalize();
    static final Path MODEL = ROOT.resolve("models/taef2.safetensors");
    static final String[] GOOD = {"a.png", "b.png", "c.jpg"};

    @TempDir
    static Path tmp;
    static SparkSession spark;
    static ModelRef model;
    static Path images, parquet;
    /** The encode job's rows by file name. */
    static Map<String, Row> rows;

    @BeforeAll
    static void encodeOnce() throws IOException {
        images = Files.createDirectories(tmp.resolve("images"));
        BufferedImage src = ImageIO.read(ROOT.resolve("examples/astronaut.png").toFile());
        ImageIO.write(src.getSubimage(0, 0, 64, 64), "png", images.resolve("a.png").toFile());
        ImageIO.write(src.getSubimage(40, 40, 128, 96), "png", images.resolve("b.png").toFile());
        BufferedImage rgb = new BufferedImage(96, 64, BufferedImage.TYPE_INT_RGB);
        rgb.getGraphics().drawImage(src.getSubimage(60, 90, 96, 64), 0, 0, null);
        ImageIO.write(rgb, "jpg", images.resolve("c.jpg").toFile());
        // A PNG signature, then nothing an image reader can use.
        Files.write(images.resolve("bad.png"), new byte[]{(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 1});
        Files.writeString(images.resolve("notes.txt"), "not an image: a folder's listing skips it");

        spark = SparkSession.builder().master("local[2]").appName("vae4j-spark tests")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate();
        model = ModelRef.of(MODEL, null, 1);
        parquet = tmp.resolve("latents.parquet");
        assertEquals(1, EncodeJob.run(spark, encode(parquet, false, 0)));
        rows = byName(parquet);
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
    }

    static EncodeJob.Settings encode(Path out, boolean sample, int partitions) {
        return new EncodeJob.Settings(model, images.toString(), out.toString(), false, sample, 7, partitions);
    }

    static Map<String, Row> byName(Path parquet) {
        Map<String, Row> m = new TreeMap<>();
        for (Row r : spark.read().parquet(parquet.toString()).collectAsList()) {
            String path = r.getAs("path");
            m.put(path.substring(path.lastIndexOf('/') + 1), r);
        }
        return m;
    }

    @Test
    void encodeEqualsTheCli() throws Exception {
        assertEquals(List.of("a.png", "b.png", "bad.png", "c.jpg"), new ArrayList<>(rows.keySet()));
        for (String name : GOOD) {
            Path want = tmp.resolve("cli-" + name + ".npy");
            cli("encode", "--model", MODEL.toString(), "--image", images.resolve(name).toString(), "--out",
                    want.toString(), "--quiet");
            Row r = rows.get(name);
            assertNull(r.getAs("error"), name);
            assertArrayEquals(npyShape(want), shape(r), name);
            assertClose(npy(want), LatentRows.floats(r.getAs("latent")), 1e-5f, name);
            BufferedImage image = ImageIO.read(images.resolve(name).toFile());
            assertEquals(image.getWidth(), r.<Integer>getAs("width"));
            assertEquals(image.getHeight(), r.<Integer>getAs("height"));
            assertEquals("taesd", r.getAs("family"));
            assertEquals(ModelRef.sha256(MODEL), r.getAs("model_sha256"));
            assertEquals(false, r.<Boolean>getAs("raw"));
        }
    }

    @Test
    void aCorruptImageBecomesAnErrorRow() {
        Row bad = rows.get("bad.png");
        String error = bad.getAs("error");
        assertNotNull(error);
        assertTrue(error.contains("bad.png"), error);
        assertNull(bad.getAs("latent"));
        assertNull(bad.getAs("shape"));
    }

    @Test
    void partitionsChangeNoResult() {
        Map<String, Row> one = byName(run(tmp.resolve("p1.parquet"), false, 1));
        Map<String, Row> three = byName(run(tmp.resolve("p3.parquet"), false, 3));
        for (String name : GOOD) {
            float[] want = LatentRows.floats(rows.get(name).getAs("latent"));
            assertSame(want, LatentRows.floats(one.get(name).getAs("latent")), name + " in 1 partition");
            assertSame(want, LatentRows.floats(three.get(name).getAs("latent")), name + " in 3 partitions");
        }
        assertEquals(rows.get("bad.png").<String>getAs("error"), three.get("bad.png").<String>getAs("error"));
    }

    @Test
    void samplesDependOnTheSeedAndPathAloneAndEqualTheCli() throws Exception {
        Map<String, Row> one = byName(run(tmp.resolve("s1.parquet"), true, 1));
        Map<String, Row> three = byName(run(tmp.resolve("s3.parquet"), true, 3));
        for (String name : GOOD) {
            assertSame(LatentRows.floats(one.get(name).getAs("latent")),
                    LatentRows.floats(three.get(name).getAs("latent")), name);
        }
        Row a = one.get("a.png");
        Path want = tmp.resolve("cli-sample.npy");
        cli("encode", "--model", MODEL.toString(), "--image", images.resolve("a.png").toString(), "--out",
                want.toString(), "--sample", "--seed", Long.toString(ImageSeeds.forImage(7, a.getAs("path"))),
                "--quiet");
        assertClose(npy(want), LatentRows.floats(a.getAs("latent")), 1e-5f, "a.png sample");
    }

    private static Path run(Path out, boolean sample, int partitions) {
        assertEquals(1, EncodeJob.run(spark, encode(out, sample, partitions)));
        return out;
    }

    @Test
    void decodeEqualsTheCli() throws Exception {
        Path pngs = tmp.resolve("decoded"), npys = tmp.resolve("decoded-npy");
        WrittenFiles.Outcome o = DecodeJob.run(spark, new DecodeJob.Settings(model, parquet.toString(),
                pngs.toString(), "png", 2));
        assertEquals(new WrittenFiles.Outcome(3, 1, List.of()), o);
        DecodeJob.run(spark, new DecodeJob.Settings(model, parquet.toString(), npys.toString(), "npy", 0));
        for (String name : GOOD) {
            String stem = name.substring(0, name.lastIndexOf('.'));
            Path latent = tmp.resolve("cli-latent-" + stem + ".npy");
            writeNpy(latent, LatentRows.floats(rows.get(name).getAs("latent")), shape(rows.get(name)));
            Path png = tmp.resolve("cli-" + stem + ".png"), npy = tmp.resolve("cli-" + stem + ".npy");
            cli("decode", "--model", MODEL.toString(), "--latent", latent.toString(), "--out", png.toString(),
                    "--quiet");
            assertPixelsClose(png, pngs.resolve(stem + ".png"));
            if (name.equals("b.png")) { // one .npy is enough to pin the format's range and layout
                cli("decode", "--model", MODEL.toString(), "--latent", latent.toString(), "--out", npy.toString(),
                        "--quiet");
                assertClose(npy(npy), npy(npys.resolve(stem + ".npy")), 1e-5f, stem + ".npy");
            }
        }
        try (var listing = Files.list(pngs)) {
            assertEquals(3, listing.count(), "one file per good row, no temporary files left");
        }
    }

    @Test
    void decodeHugeEqualsTheUntiledDecode() throws Exception {
        Row b = rows.get("b.png"); // 128x96: a 12x16 latent, in 3x4 tiles of 32 px
        Path latent = tmp.resolve("huge-b.npy"), want = tmp.resolve("untiled-b.png"), got = tmp.resolve("tiled-b.png");
        writeNpy(latent, LatentRows.floats(b.getAs("latent")), shape(b));
        cli("decode", "--model", MODEL.toString(), "--latent", latent.toString(), "--out", want.toString(),
                "--tiling", "off", "--quiet");
        assertArrayEquals(new int[]{128, 96}, DecodeHugeJob.run(spark, new DecodeHugeJob.Settings(model,
                latent.toString(), got.toString(), 32)));
        assertPixelsClose(want, got);
    }

    @Test
    void decodeHugeOfAnAutoencoderKlEqualsTheCliFastTiling() throws Exception {
        Path kl = klFixture();
        // A 20x28 latent in tiles of 64 px (8 latent px): 3x4 tiles, blended over their halos.
        float[] z = gaussian(4 * 20 * 28, 7);
        Path latent = tmp.resolve("huge-kl.npy"), want = tmp.resolve("fast-kl.png"), got = tmp.resolve("spark-kl.png");
        writeNpy(latent, z, new int[]{1, 4, 20, 28});
        cli("decode", "--model", kl.toString(), "--latent", latent.toString(), "--out", want.toString(),
                "--tiling", "fast", "--tile", "64", "--quiet");
        assertArrayEquals(new int[]{224, 160}, DecodeHugeJob.run(spark, new DecodeHugeJob.Settings(
                ModelRef.of(kl, null, 1), latent.toString(), got.toString(), 64)));
        assertPixelsClose(want, got);
    }

    /**
     * decode-huge's broadcast, for real: the statistics one copy of an AutoencoderKL records go through Java
     * serialization (Spark's broadcast format) and, bound to another copy's layers, decode a tile as the recording
     * does. (In local mode the job's executors find the driver's own statistics in the shared JVM.)
     */
    @Test
    void broadcastStatisticsSurviveSerializationAndBindToAnotherCopy() throws Exception {
        Path kl = klFixture();
        float[] values = gaussian(4 * 20 * 28, 8);
        VaeModel.Options options = VaeModel.Options.defaults().withThreads(1);
        try (VaeModel one = VaeModel.load(kl, options);
             VaeModel other = VaeModel.load(kl, options);
             Tensor z = Tensor.of(values, 1, 4, 20, 28)) {
            TiledDecoder driver = new TiledDecoder(one.model().vae(),
                    new TiledDecoder.Options(8, -1, 1L << 30));
            TiledDecoder executor = new TiledDecoder(other.model().vae(),
                    new TiledDecoder.Options(8, -1, 1L << 30));
            TiledDecoder.Stats recorded = driver.stats(z);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
                out.writeObject(TiledDecoder.ShippedStats.of(recorded));
            }
            TiledDecoder.ShippedStats shipped;
            try (ObjectInputStream in = new ObjectInputStream(
                    new ByteArrayInputStream(bytes.toByteArray()))) {
                shipped = (TiledDecoder.ShippedStats) in.readObject();
            }
            TiledDecoder.Stats bound = executor.stats(z, shipped);
            assertTrue(recorded.norms().size() > 10, "GroupNorm layers: " + recorded.norms().size());
            assertEquals(recorded.norms().size(), bound.norms().size());
            TilePlan plan = driver.plan(20, 28);
            Tile tile = plan.tiles().get(plan.size() / 2);
            try (Tensor want = driver.decodeTile(z, tile, plan, recorded);
                 Tensor got = executor.decodeTile(z, tile, plan, bound)) {
                assertSame(want.toFloatArray(), got.toFloatArray(), "tile " + tile.index());
            }
        }
    }

    @Test
    void exportWritesEachRowsLatent() throws Exception {
        Path out = tmp.resolve("exported");
        assertEquals(new WrittenFiles.Outcome(3, 1, List.of()), ExportJob.run(spark, parquet.toString(),
                out.toString()));
        for (String name : GOOD) {
            Path file = out.resolve(name.substring(0, name.lastIndexOf('.')) + ".npy");
            assertArrayEquals(shape(rows.get(name)), npyShape(file));
            assertArrayEquals(LatentRows.floats(rows.get(name).getAs("latent")), npy(file));
        }
    }

    @Test
    void badArgumentsAreOneLine() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(1, Main.run(new String[]{"encode", "--input", "x", "--output", "y"}, System.out, e));
        assertEquals(1, Main.run(new String[]{"decode", "--model", tmp.resolve("none").toString(), "--input", "x",
                "--output", "y", "--format", "png"}, System.out, e));
        assertEquals(1, Main.run(new String[]{"encode", "--model", MODEL.toString(), "--input", "x", "--output", "y", "--seed",
                "3"}, System.out, e));
        assertEquals(1, Main.run(new String[]{"resize"}, System.out, e));
        assertEquals("""
                vae4j-spark: encode: missing --model
                vae4j-spark: model %s: no such file or folder
                vae4j-spark: encode: --seed only applies with --sample
                vae4j-spark: unknown command 'resize' (expected encode, decode, export or decode-huge)
                """.formatted(tmp.resolve("none").toAbsolutePath()), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aMissingInputIsOneLine() {
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.vae4j.VaeException.class, () -> EncodeJob.run(spark,
                new EncodeJob.Settings(model, tmp.resolve("nowhere").toString(), tmp.resolve("o").toString(), false,
                        false, 0, 0)));
        assertTrue(e.getMessage().startsWith("input " + tmp.resolve("nowhere") + ": "), e.getMessage());
        var d = org.junit.jupiter.api.Assertions.assertThrows(io.vae4j.VaeException.class, () -> ExportJob.run(spark,
                images.toString(), tmp.resolve("o").toString()));
        assertTrue(d.getMessage().startsWith("input " + images + ": "), d.getMessage());
    }

    /** The conformance fixtures' small AutoencoderKL; the test is skipped (with a message) where they are absent. */
    static Path klFixture() {
        Path fixtures = System.getenv("VAE4J_CONFORMANCE") != null ? Path.of(System.getenv("VAE4J_CONFORMANCE"))
                : ROOT.resolve("../shared/conformance").normalize();
        Path kl = fixtures.resolve("kl_f8_sd/model.safetensors");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(kl),
                "skipped: no conformance fixtures at " + fixtures + " (set VAE4J_CONFORMANCE)");
        return kl;
    }

    static float[] gaussian(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] z = new float[n];
        for (int i = 0; i < n; i++) {
            z[i] = (float) random.nextGaussian();
        }
        return z;
    }

    static int[] shape(Row r) {
        return r.getList(r.fieldIndex("shape")).stream().mapToInt(x -> (Integer) x).toArray();
    }

    static void cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("vae4j").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", cmd));
    }

    static void assertClose(float[] want, float[] got, float tolerance, String what) {
        assertEquals(want.length, got.length, what);
        float worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst <= tolerance, what + ": max abs diff " + worst);
    }

    /**
     * The same latent from two runs of one model in one JVM, whatever the partitioning: equal up to 1e-5 of the
     * largest value. Not bit for bit, and not by partitioning: a cold run's latents (the first job in a JVM, like
     * every CLI run) and a warm run's differ by float rounding, presumably as the JIT compiles the Vector API
     * kernels (whose lane reductions have no fixed order); measured up to 1.2e-5 absolute, 2.4e-6 of the largest
     * value, on these taef2 latents.
     */
    static void assertSame(float[] want, float[] got, String what) {
        float largest = 0;
        for (float v : want) {
            largest = Math.max(largest, Math.abs(v));
        }
        assertClose(want, got, 1e-5f * Math.max(1, largest), what + " (largest value " + largest + ")");
    }

    static void assertPixelsClose(Path want, Path got) throws IOException {
        BufferedImage a = ImageIO.read(want.toFile()), b = ImageIO.read(got.toFile());
        assertEquals(a.getWidth(), b.getWidth());
        assertEquals(a.getHeight(), b.getHeight());
        int worst = 0;
        for (int y = 0; y < a.getHeight(); y++) {
            for (int x = 0; x < a.getWidth(); x++) {
                int p = a.getRGB(x, y), q = b.getRGB(x, y);
                for (int s = 0; s < 24; s += 8) {
                    worst = Math.max(worst, Math.abs((p >> s & 255) - (q >> s & 255)));
                }
            }
        }
        assertTrue(worst <= 1, got + ": max pixel diff " + worst);
    }

    /** A float32 little-endian .npy file's header dict and values. */
    static String npyHeader(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        int length = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort(8) & 0xFFFF;
        return new String(b, 10, length, StandardCharsets.US_ASCII);
    }

    static int[] npyShape(Path file) throws IOException {
        String h = npyHeader(file);
        assertTrue(h.contains("'<f4'"), h);
        String dims = h.substring(h.indexOf("'shape': (") + 10, h.indexOf(')'));
        return java.util.Arrays.stream(dims.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
    }

    static float[] npy(Path file) throws IOException {
        int start = 10 + npyHeader(file).length();
        return LatentRows.floats(java.util.Arrays.copyOfRange(Files.readAllBytes(file), start,
                (int) Files.size(file)));
    }

    static void writeNpy(Path file, float[] values, int[] shape) {
        try (var t = Tensor.of(values, shape)) {
            io.vae4j.format.npy.Npy.write(file, t);
        }
    }
}
