package io.vae4j.tiles.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.format.image.PixelRange;
import io.vae4j.fuzz.Hostile;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;

/**
 * The streaming PNG and TIFF readers of tiled encode, from any bytes: opening reads only the header, so it may take
 * nothing in proportion to the declared size; reading rows may take buffers for the declared width (a caller checks
 * width x height against --max-pixels between the two, as the tiled pipeline does).
 */
class StripReaderFuzzTest {
    private static final Path DIR = Hostile.dir("strips");
    /** The tiled pipeline's default pixel limit (65536x65536). */
    private static final long MAX_PIXELS = 65536L * 65536;
    /** Rows read per input: enough to cross strips, filters and tiles, few enough to keep executions fast. */
    private static final int ROWS = 64;

    @FuzzTest
    void png(byte[] data) {
        read(Hostile.input(DIR, "image.png", data), data.length);
    }

    @FuzzTest
    void tiff(byte[] data) {
        read(Hostile.input(DIR, "image.tif", data), data.length);
    }

    private static void read(Path file, long size) {
        int[] width = new int[1];
        Hostile.parse(size, 64, 16L << 20, () -> 64L * width[0] * 4, () -> {
            ImageStripReader r = ImageStripReader.open(file, PixelRange.MINUS_ONE_ONE);
            width[0] = r.width();
            if ((long) r.width() * r.height() > MAX_PIXELS) {
                return r;
            }
            for (int left = Math.min(ROWS, r.height()); left > 0; left -= 4) {
                try (Tensor rows = r.readRows(Math.min(4, left))) {
                    rows.numel();
                }
            }
            return r;
        });
        Hostile.nothingBeside(file);
    }
}
