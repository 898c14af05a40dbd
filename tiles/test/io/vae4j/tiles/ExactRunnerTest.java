package io.vae4j.tiles;

import io.vae4j.VaeException;
import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.image.Images;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.AttentionMode;
import io.vae4j.model.ImageRange;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.Model;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.tensor.ScratchSpace;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.ImageStripReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Exact mode (whole image, activations in scratch files) against the untiled run, on the conformance fixtures.
 * The kernels are the same, so the bound is the backend's own run-to-run variation rather than an approximation:
 * two untiled decodes in one JVM differ by up to 6e-6, as the Vector API's exp (SiLU, softmax) gives other last
 * bits interpreted than JIT-compiled; once the code is compiled, exact and untiled were measured equal (0 difference).
 */
class ExactRunnerTest {
    /** Run-to-run variation of the untiled decode itself, with margin. */
    private static final double FLOAT_NOISE = 1e-4;
    private static final VectorBackend BACKEND = new VectorBackend(1);
    private static final VectorBackend TWO_THREADS = new VectorBackend(2);

    @TempDir
    Path scratch;

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
        TWO_THREADS.parallel().close();
    }

    /** Every tensor in scratch (threshold 0), pages released whenever 1 MiB more is resident: the hardest case. */
    private ExactRunner runner(Vae vae, AttentionMode attention) {
        return new ExactRunner(vae, new ExactRunner.Options(scratch, attention, 0, 1L << 20,
                ExactRunner.FreeSpace.FILE_STORE));
    }

    private long scratchEntries() throws IOException {
        try (Stream<Path> s = Files.list(scratch)) {
            return s.count();
        }
    }

    private static Model kl(String name) {
        return ModelLoader.load(TiledDecoderTest.fixture(name).resolve("model.safetensors"), BACKEND, null);
    }

    @Test
    void onTwoThreadsExactIsUntiledUpToFloatNoise() {
        try (Model m = ModelLoader.load(TiledDecoderTest.fixture("kl_f8_sd").resolve("model.safetensors"),
                TWO_THREADS, null)) {
            assertExactIsUntiledUpToFloatNoise(m, "2 threads");
        }
    }

    /** The exact decode of a small latent against the model's untiled decode: float noise only. */
    private void assertExactIsUntiledUpToFloatNoise(Model m, String label) {
        try (Tensor z = TiledDecoderTest.smoothLatent(4, 21, 14, 4); Tensor want = m.vae().decode(z)) {
            MemoryStripWriter w = new MemoryStripWriter(want.dim(3), want.dim(2));
            runner(m.vae(), AttentionMode.GLOBAL).decode(z, w, PixelRange.ZERO_ONE);
            double d = TiledDecoderTest.maxAbsDiff(want, w.image);
            System.err.printf("exact vs untiled, %s: max abs diff %.2e%n", label, d);
            assertTrue(d < 1e-4, label + ": max abs diff " + d);
            w.image.close();
        }
    }

    /**
     * The oneDNN backend keeps its blocked layout between layers; the exact runner's shared GroupNorm statistics
     * and windowed attention read activations directly, through Backend.toNchw. Exact and untiled decodes, and
     * windowed against global attention, agree as on the Vector API backend.
     */
    @Test
    void onOneDnnExactIsUntiledUpToFloatNoise() throws IOException {
        assumeTrue(OneDnn.available(), () -> "oneDNN backend not tested: " + OneDnn.unavailableReason());
        try (OneDnnBackend onednn = new OneDnnBackend(2);
             Model m = ModelLoader.load(TiledDecoderTest.fixture("kl_f8_sd").resolve("model.safetensors"), onednn,
                     null)) {
            assertExactIsUntiledUpToFloatNoise(m, "oneDNN");
            assertEquals(0, scratchEntries(), "scratch files left");
            try (Tensor z = TiledDecoderTest.smoothLatent(4, 40, 56, 2);
                 Tensor global = AttentionMode.GLOBAL.where(() -> m.vae().decode(z));
                 Tensor tiled = AttentionMode.TILED.where(() -> m.vae().decode(z))) {
                assertTrue(TiledDecoderTest.maxAbsDiff(global, tiled) <= FLOAT_NOISE, "one window is global");
            }
            try (Model java = kl("kl_f8_sd"); Tensor z = TiledDecoderTest.smoothLatent(4, 136, 100, 2);
                 Tensor want = AttentionMode.TILED.where(() -> java.vae().decode(z));
                 Tensor tiled = AttentionMode.TILED.where(() -> m.vae().decode(z))) {
                double d = TiledDecoderTest.maxAbsDiff(want, tiled);
                System.err.printf("windowed attention, oneDNN vs Vector API: max abs diff %.2e%n", d);
                assertTrue(d < 1e-4, "windows on oneDNN vs the Vector API: " + d);
            }
        }
    }

    @Test
    void exactDecodeIsTheUntiledDecodeBitForBit() throws IOException {
        int[][] shapes = {{8, 8}, {13, 9}, {10, 24}, {31, 17}};
        for (String name : new String[]{"kl_f8_sd", "kl_f8_flux", "kl_f8_no_mid_attn"}) {
            // Two instances of the model: one that only ever runs in scratch makes its Winograd transforms there
            // (the untiled run would cache them in RAM, and a later scratch run would use those), so the scratch
            // peak includes them, as in a real exact run, and the estimate is checked with them.
            try (Model m = kl(name); Model untiled = kl(name)) {
                Vae vae = m.vae();
                for (int[] s : shapes) {
                    try (Tensor z = TiledDecoderTest.smoothLatent(vae.latentChannels(), s[0], s[1], s[0]);
                         Tensor want = untiled.vae().decode(z)) {
                        MemoryStripWriter w = new MemoryStripWriter(want.dim(3), want.dim(2));
                        ExactRunner.Result r = runner(vae, AttentionMode.GLOBAL).decode(z, w, PixelRange.ZERO_ONE);
                        assertTrue(w.closed && !w.aborted);
                        double d = TiledDecoderTest.maxAbsDiff(want, w.image);
                        System.err.printf("exact vs untiled decode, %s %dx%d: max abs diff %.1e%n", name, s[0], s[1], d);
                        assertTrue(d <= FLOAT_NOISE, name + " " + s[0] + "x" + s[1] + ": " + d);
                        assertTrue(r.scratchPeak() > 0 && r.scratchPeak() <= r.scratchEstimate(),
                                name + ": peak " + r.scratchPeak() + " > estimate " + r.scratchEstimate());
                        assertTrue(r.scratchEstimate() < 1.6 * r.scratchPeak(),
                                name + ": estimate " + r.scratchEstimate() + " far above peak " + r.scratchPeak());
                        w.image.close();
                    }
                    assertEquals(0, scratchEntries(), "scratch files left");
                }
            }
        }
    }

    @Test
    void exactEncodeIsTheUntiledEncodeBitForBit() throws IOException {
        for (String name : new String[]{"kl_f8_sd", "kl_f8_no_mid_attn"}) {
            try (Model m = kl(name); Model untiled = kl(name)) {
                Vae vae = m.vae();
                for (int[] s : new int[][]{{64, 64}, {72, 40}, {53, 97}}) {
                    Path png = scratch.resolve("in.png");
                    try (Tensor img = TiledDecoderTest.smoothLatent(3, s[0], s[1], 7)) {
                        Images.writePngs(png, img, PixelRange.MINUS_ONE_ONE);
                    }
                    try (Tensor image = Images.read(png, PixelRange.MINUS_ONE_ONE); Moments want = untiled.vae().encode(image);
                         ImageStripReader reader = ImageStripReader.open(png, PixelRange.MINUS_ONE_ONE);
                         ExactRunner.Encoded got = runner(vae, AttentionMode.GLOBAL).encode(reader)) {
                        double dm = TiledDecoderTest.maxAbsDiff(want.mean(), got.moments().mean());
                        double dl = TiledDecoderTest.maxAbsDiff(want.logvar(), got.moments().logvar());
                        System.err.printf("exact vs untiled encode, %s %dx%d: max abs diff mean %.1e, logvar %.1e%n",
                                name, s[0], s[1], dm, dl);
                        assertTrue(dm <= FLOAT_NOISE && dl <= FLOAT_NOISE, name + ": " + dm + ", " + dl);
                        ExactRunner.Result r = got.result();
                        assertTrue(r.scratchPeak() <= r.scratchEstimate() && r.scratchEstimate() < 1.6
                                * r.scratchPeak(), name + ": peak " + r.scratchPeak() + ", estimate "
                                + r.scratchEstimate());
                    }
                    Files.delete(png);
                    assertEquals(0, scratchEntries(), "scratch files left");
                }
            }
        }
    }

    /**
     * Once the kernels are compiled, the whole-image run in scratch gives the untiled run's very bits, with pages
     * released from under the kernels all the time: the activations' and those of the Winograd transforms, which
     * a model instance that never ran outside scratch makes and keeps there.
     */
    @Test
    void releasingPagesMidKernelChangesNothing() {
        try (Model m = kl("kl_f8_sd"); Model inScratch = kl("kl_f8_sd");
             Tensor z = TiledDecoderTest.smoothLatent(4, 40, 36, 3)) {
            Vae vae = m.vae();
            for (int i = 0; i < 3; i++) {
                vae.decode(z).close();
            }
            try (Tensor want = vae.decode(z); ScratchSpace space = new ScratchSpace(scratch, 0, 64 << 10);
                 Tensor got = space.run(() -> inScratch.vae().decode(z))) {
                // Bit-exact: 9 runs in a row since 69cb7bc took heap segments out of the kernels; before, one run
                // in three or more differed by 1.1e-5 to 1.6e-5. The likely link: the polymorphic profiles they
                // caused had kernels deoptimised mid-run, and the Vector API's fallback paths round exp and lane sums
                // differently from compiled code.
                assertEquals(0.0, TiledDecoderTest.maxAbsDiff(want, got));
                System.err.printf("exact 320x288 with 64 KiB of slack: %d releases%n", space.releases());
            }
        }
    }

    @Test
    void aFailingWriterLeavesNoScratchAndIsAborted() throws IOException {
        try (Model m = kl("kl_f8_sd"); Tensor z = TiledDecoderTest.randomLatent(4, 12, 12, 1)) {
            MemoryStripWriter w = new MemoryStripWriter(96, 96) {
                @Override
                public long writeRows(Tensor strip, PixelRange range) {
                    throw new VaeException("disk full (test)");
                }
            };
            VaeException e = assertThrows(VaeException.class,
                    () -> runner(m.vae(), AttentionMode.GLOBAL).decode(z, w, PixelRange.ZERO_ONE));
            assertEquals("disk full (test)", e.getMessage());
            assertTrue(w.aborted);
            assertFalse(w.closed);
            assertEquals(0, scratchEntries());
            w.image.close();
        }
    }

    @Test
    void anExceptionMidRunLeavesNoScratch() throws IOException {
        try (Model m = kl("kl_f8_sd"); Tensor z = TiledDecoderTest.randomLatent(4, 12, 12, 1)) {
            Vae failing = new FailingVae(m.vae());
            MemoryStripWriter w = new MemoryStripWriter(96, 96);
            ExactRunner r = runner(failing, AttentionMode.GLOBAL);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> r.decode(z, w, PixelRange.ZERO_ONE));
            assertEquals("kernel failed (test)", e.getMessage());
            assertTrue(w.aborted);
            assertEquals(0, scratchEntries());
            w.image.close();
        }
    }

    @Test
    void tooLittleFreeSpaceIsRefusedUpFront() throws IOException {
        try (Model m = kl("kl_f8_sd"); Tensor z = TiledDecoderTest.randomLatent(4, 16, 8, 1)) {
            ExactRunner r = new ExactRunner(m.vae(), new ExactRunner.Options(scratch, AttentionMode.GLOBAL, 0, 0,
                    dir -> 1000));
            MemoryStripWriter w = new MemoryStripWriter(64, 128);
            VaeException e = assertThrows(VaeException.class, () -> r.decode(z, w, PixelRange.ZERO_ONE));
            assertTrue(e.getMessage().startsWith("--scratch " + scratch + ": an exact decode of 64x128 needs about "),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("but only 0 MiB is free there; point --scratch at a larger disk, or"
                    + " use --tiling fast"), e.getMessage());
            assertTrue(w.aborted);
            assertEquals(0, w.rowsWritten());
            assertEquals(0, scratchEntries());
            w.image.close();
        }
    }

    /**
     * Tiled attention is global attention when the latent fits one window, and close to it otherwise; off skips the
     * layer. Prints PSNR against global (random weights: real-weight numbers differ, see the README).
     */
    @Test
    void attentionModes() {
        try (Model m = kl("kl_f8_sd")) {
            Vae vae = m.vae();
            try (Tensor z = TiledDecoderTest.smoothLatent(4, 40, 56, 2);
                 Tensor global = AttentionMode.GLOBAL.where(() -> vae.decode(z));
                 Tensor tiled = AttentionMode.TILED.where(() -> vae.decode(z))) {
                assertTrue(TiledDecoderTest.maxAbsDiff(global, tiled) <= FLOAT_NOISE, "one window is global");
            }
            try (Tensor z = TiledDecoderTest.smoothLatent(4, 136, 100, 2);
                 Tensor global = AttentionMode.GLOBAL.where(() -> vae.decode(z));
                 Tensor tiled = AttentionMode.TILED.where(() -> vae.decode(z));
                 Tensor off = AttentionMode.OFF.where(() -> vae.decode(z))) {
                double pTiled = psnr(global, tiled), pOff = psnr(global, off);
                System.err.printf("kl_f8_sd random weights, latent 136x100: tiled attention PSNR %.1f dB, off %.1f dB"
                        + " (against global)%n", pTiled, pOff);
                assertTrue(pTiled > pOff, "windows keep more than nothing: " + pTiled + " vs " + pOff);
                assertTrue(Double.isFinite(pOff) && pOff > 10, "off " + pOff);
            }
        }
    }

    /** PSNR over [-1, 1] after clamping, as a user sees the image. */
    static double psnr(Tensor want, Tensor got) {
        double se = 0;
        for (long i = 0; i < want.numel(); i++) {
            double d = clamp(want.get(i)) - clamp(got.get(i));
            se += d * d;
        }
        return 10 * Math.log10(4 / (se / want.numel()));
    }

    private static double clamp(float v) {
        return Math.max(-1, Math.min(1, v));
    }

    /** A VAE whose decode allocates its activations (in scratch, inside a run) and then fails. */
    private record FailingVae(Vae inner) implements Vae {
        @Override
        public Tensor decode(Tensor latent) {
            try (Tensor a = Tensor.uninitialized(1, 64, 64, 64); Tensor b = Tensor.allocate(1, 64, 64, 64)) {
                throw new IllegalStateException("kernel failed (test)");
            }
        }

        @Override
        public ModelInfo info() {
            return inner.info();
        }

        @Override
        public int latentChannels() {
            return inner.latentChannels();
        }

        @Override
        public int downscale() {
            return inner.downscale();
        }

        @Override
        public ImageRange imageRange() {
            return inner.imageRange();
        }

        @Override
        public boolean canEncode() {
            return false;
        }

        @Override
        public boolean canDecode() {
            return true;
        }

        @Override
        public Moments encode(Tensor image) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long decodeActivationBytes(int height, int width) {
            return inner.decodeActivationBytes(height, width);
        }

        @Override
        public void close() {
        }
    }
}
