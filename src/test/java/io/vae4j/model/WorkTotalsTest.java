package io.vae4j.model;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.MemoryWeights;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.model.taesd.TaesdLayout;
import io.vae4j.model.taesd.TaesdShapes;
import io.vae4j.model.taesd.TaesdVariant;
import io.vae4j.pipeline.WorkProgress;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.Progress;
import io.vae4j.util.Work;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Progress has a known total: what a model's graph computes from the input's shape before a run equals what its
 * layers report while it runs, for every architecture, decode and encode, and each attention mode.
 */
class WorkTotalsTest {

    /** Runs work under a meter; returns {total, reported}. */
    private static long[] measure(long total, java.util.function.Supplier<AutoCloseable> work) throws Exception {
        List<Long> seen = new ArrayList<>();
        Work w = new Work(total, (done, t) -> seen.add(done));
        try (AutoCloseable ignored = w.run(work)) {
            assertTrue(seen.size() > 3, "progress steps: " + seen.size());
            for (int i = 1; i < seen.size(); i++) {
                assertTrue(seen.get(i) >= seen.get(i - 1), "progress never goes back");
            }
        }
        return new long[]{total, w.doneSoFar()};
    }

    @Test
    void klDecodeAndEncodeReportTheirTotal() throws Exception {
        KlConfig c = new KlConfig(new int[]{32, 32, 64}, 1, 4, 3, true, true, true, true, true, true);
        try (VectorBackend b = new VectorBackend(2);
             Model m = ModelLoader.load(RandomWeights.of("kl", KlShapes.of(c), 1), null, b, null);
             Tensor z = Tensor.allocate(2, 4, 6, 10); Tensor image = Tensor.allocate(1, 3, 24, 40)) {
            Vae vae = m.vae();
            for (AttentionMode mode : AttentionMode.values()) {
                long[] d = mode.where(() -> {
                    try {
                        return measure(vae.decodeMacs(z.shape()), () -> vae.decode(z));
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                });
                assertEquals(d[0], d[1], "decode, attention " + mode);
            }
            long[] e = measure(vae.encodeMacs(image.shape()), () -> vae.encode(image));
            assertEquals(e[0], e[1], "encode");
        }
    }

    @Test
    void taesdDecodeAndEncodeReportTheirTotal() throws Exception {
        for (TaesdVariant variant : new TaesdVariant[]{TaesdVariant.TAESD, TaesdVariant.TAEF2}) {
            MemoryWeights w = RandomWeights.of("t", TaesdShapes.of(TaesdShapes.config(variant),
                    new TaesdLayout("t", "encoder.", "decoder.", 0)), 2);
            try (VectorBackend b = new VectorBackend(2); Model m = ModelLoader.load(w, null, b, null)) {
                Vae vae = m.vae();
                try (Tensor z = Tensor.allocate(1, vae.latentChannels(), 5, 7);
                     Tensor image = Tensor.allocate(1, 3, 40, 56)) {
                    long[] d = measure(vae.decodeMacs(z.shape()), () -> vae.decode(z));
                    assertEquals(d[0], d[1], variant + " decode");
                    long[] e = measure(vae.encodeMacs(image.shape()), () -> vae.encode(image));
                    assertEquals(e[0], e[1], variant + " encode");
                }
            }
        }
    }

    @Test
    void theBarWaitsTwoSecondsThenShowsTheTimeLeft() {
        AtomicLong now = new AtomicLong();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        WorkProgress bar = new WorkProgress("decode", out, now::get, Progress.Mode.BAR);
        bar.update(10, 100);
        assertEquals("", bytes.toString(StandardCharsets.UTF_8), "nothing in the first two seconds");
        now.set(3_000_000_000L);
        bar.update(30, 100);
        String s = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\rdecode [#######.................] 30%, 3.0s, ETA 7.0s"), s);
        bar.finish();
        assertTrue(bytes.toString(StandardCharsets.UTF_8).endsWith("\n"));

        bytes.reset();
        now.set(0);
        WorkProgress log = new WorkProgress("encode", out, now::get, Progress.Mode.LOG);
        now.set(5_000_000_000L);
        log.update(50, 100);
        assertEquals("", bytes.toString(StandardCharsets.UTF_8), "a log line every ten seconds");
        now.set(12_000_000_000L);
        log.update(60, 100);
        assertEquals("encode: 60%, 12.0s, ETA 8.0s\n", bytes.toString(StandardCharsets.UTF_8));
    }
}
