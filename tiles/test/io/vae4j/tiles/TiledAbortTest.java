package io.vae4j.tiles;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.format.image.PixelRange;
import io.vae4j.model.ImageRange;
import io.vae4j.model.Model;
import io.vae4j.model.ModelInfo;
import io.vae4j.model.ModelLoader;
import io.vae4j.model.Moments;
import io.vae4j.model.Vae;
import io.vae4j.tensor.Tensor;
import io.vae4j.tiles.io.StreamingPngWriter;
import io.vae4j.tiles.io.StreamingTiffWriter;
import io.vae4j.tiles.plan.TilePlan;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A tiled decode that fails part way leaves nothing behind: no output, no temporary file. */
class TiledAbortTest {
    private static final VectorBackend BACKEND = new VectorBackend(2);

    @TempDir
    Path tmp;

    @AfterAll
    static void close() {
        BACKEND.parallel().close();
    }

    /** A decoder that fails on its n-th decode. */
    record Failing(Vae vae, AtomicInteger left) implements Vae {
        public ModelInfo info() {
            return vae.info();
        }

        public int latentChannels() {
            return vae.latentChannels();
        }

        public int downscale() {
            return vae.downscale();
        }

        public ImageRange imageRange() {
            return vae.imageRange();
        }

        public boolean canEncode() {
            return false;
        }

        public boolean canDecode() {
            return true;
        }

        public Tensor decode(Tensor latent) {
            if (left.decrementAndGet() < 0) {
                throw new IllegalStateException("simulated failure");
            }
            return vae.decode(latent);
        }

        public Moments encode(Tensor image) {
            throw new UnsupportedOperationException();
        }

        public long decodeActivationBytes(int height, int width) {
            return vae.decodeActivationBytes(height, width);
        }

        public void close() {
        }
    }

    @Test
    void failureMidwayLeavesNoFile() throws IOException {
        Path model = TiledDecoderTest.fixture("taesd_random").resolve("taesd_decoder.safetensors");
        try (Model m = ModelLoader.load(model, BACKEND, null);
             Tensor z = TiledDecoderTest.randomLatent(4, 24, 16, 1)) {
            for (String name : new String[]{"out.png", "out.tif"}) {
                // Probe decode + 3 tiles succeed (the first tile row of 2 is written), then a failure.
                Vae vae = new Failing(m.vae(), new AtomicInteger(4));
                TiledDecoder d = new TiledDecoder(vae, new TiledDecoder.Options(8, -1, 1L << 30));
                TilePlan plan = d.plan(24, 16);
                assertEquals(6, plan.size());
                Path out = tmp.resolve(name);
                var writer = name.endsWith(".png") ? StreamingPngWriter.open(out, 128, 192, 8)
                        : StreamingTiffWriter.open(out, 128, 192, 16);
                var e = assertThrows(IllegalStateException.class,
                        () -> d.decode(z, plan, writer, PixelRange.ZERO_ONE, TiledDecoderTest.quiet(plan.size())));
                assertTrue(e.getMessage().contains("simulated"));
                assertTrue(writer.rowsWritten() > 0, "a strip was written before the failure");
                try (Stream<Path> files = Files.list(tmp)) {
                    assertEquals(0, files.count(), "files left behind");
                }
            }
        }
    }
}
