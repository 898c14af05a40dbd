package io.vae4j.tiles;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.plan.TilePlan;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tiled decoding against the untiled decode, on the conformance fixtures. */
class TiledDecoderTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);
    /** Float noise between two decodes of the same pixels with different tile shapes (vector backend). */
    private static final double FLOAT_NOISE = 1e-4;

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    static Path fixture(String name) {
        String env = System.getenv("VAE4J_CONFORMANCE");
        Path dir = env != null ? Path.of(env) : Path.of("../shared/conformance");
        Assumptions.assumeTrue(Files.isDirectory(dir.resolve(name)), "conformance fixtures not found: " + dir);
        return dir.resolve(name);
    }

    static Tensor randomLatent(int c, int h, int w, long seed) {
        Tensor z = Tensor.allocate(1, c, h, w);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < z.numel(); i++) {
            z.set(i, (float) (r.nextDouble() * 2 - 1) * 1.5f);
        }
        return z;
    }

    static Progress quiet(int tiles) {
        return new Progress("test", tiles, 0, new PrintStream(OutputStream.nullOutputStream()), System::nanoTime,
                () -> -1, Progress.Mode.QUIET);
    }

    /** Decodes z tiled (tile edge and halo in latent pixels); returns the image and the run's result. */
    static Tensor tiled(Vae vae, Tensor z, int edge, int halo, long budget) {
        TiledDecoder d = new TiledDecoder(vae, new TiledDecoder.Options(edge, halo, budget));
        TilePlan plan = d.plan(z.dim(2), z.dim(3));
        MemoryStripWriter w = new MemoryStripWriter(plan.imageWidth(), plan.imageHeight());
        d.decode(z, plan, w, PixelRange.ZERO_ONE, quiet(plan.size()));
        assertTrue(w.closed);
        return w.image;
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertEquals(a.numel(), b.numel());
        double max = 0;
        for (long i = 0; i < a.numel(); i++) {
            max = Math.max(max, Math.abs(a.get(i) - b.get(i)));
        }
        return max;
    }

    @Test
    void taesdTiledEqualsUntiled() {
        Path dir = fixture("taesd_random");
        try (Model m = ModelLoader.load(dir.resolve("taesd_decoder.safetensors"), BACKEND, null)) {
            Vae vae = m.vae();
            int[][] shapes = {{37, 23}, {24, 41}, {33, 33}};
            int[] edges = {8, 11, 16};
            for (int s = 0; s < shapes.length; s++) {
                try (Tensor z = randomLatent(vae.latentChannels(), shapes[s][0], shapes[s][1], s);
                     Tensor full = vae.decode(z)) {
                    try (Tensor t = tiled(vae, z, edges[s], -1, 1L << 30)) {
                        double d = maxAbsDiff(full, t);
                        assertTrue(d < FLOAT_NOISE, "shape " + shapes[s][0] + "x" + shapes[s][1] + " edge "
                                + edges[s] + ": max abs diff " + d);
                    }
                }
            }
        }
    }

    /** The halo TiledDecoder.defaultHalo uses for TAESD is at least the smallest one that is exact. */
    @Test
    void taesdHaloIsTheReceptiveField() {
        Path dir = fixture("taesd_random");
        try (Model m = ModelLoader.load(dir.resolve("taesd_decoder.safetensors"), BACKEND, null)) {
            Vae vae = m.vae();
            try (Tensor z = randomLatent(vae.latentChannels(), 48, 20, 5); Tensor full = vae.decode(z)) {
                int exactFrom = -1;
                for (int halo = 10; halo <= 20; halo += 2) {
                    try (Tensor t = tiled(vae, z, 8, halo, 1L << 30)) {
                        double d = maxAbsDiff(full, t);
                        System.err.printf("taesd halo %d: max abs diff %.3g%n", halo, d);
                        if (d < FLOAT_NOISE && exactFrom < 0) {
                            exactFrom = halo;
                        }
                    }
                }
                assertTrue(exactFrom > 0 && exactFrom <= TiledDecoder.defaultHalo(vae), "exact from " + exactFrom);
            }
        }
    }

    @Test
    void taef2TiledEqualsUntiledWithWholeImageStatistics() {
        Path dir = fixture("taef2");
        try (Model m = ModelLoader.load(dir.resolve("taef2_decoder.safetensors"), BACKEND, null)) {
            Vae vae = m.vae();
            try (Tensor z = randomLatent(vae.latentChannels(), 29, 22, 3); Tensor full = vae.decode(z);
                 Tensor t = tiled(vae, z, 10, -1, 1L << 30)) {
                double d = maxAbsDiff(full, t);
                assertTrue(d < FLOAT_NOISE, "max abs diff " + d);
            }
        }
    }
}
