package io.vae4j.format.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.fuzz.Hostile;

/**
 * Image decoding of encode's input (PNG, JPEG, BMP, GIF, ... through ImageIO) and the header sniffing the server
 * does before reading a body, from any bytes.
 */
class ImagesFuzzTest {
    /** A small pixel limit, so that a bomb's allowance stays small and a decode past it shows. */
    private static final long MAX_PIXELS = 256 * 256;

    @FuzzTest
    void read(byte[] data) {
        // Pixels are bounded by MAX_PIXELS whatever the header says: ImageIO's raster (at most 8 bytes a pixel for
        // 16-bit RGBA) and the float32 tensor (12 a pixel), plus the reader's own buffers.
        long fixed = (16L << 20) + MAX_PIXELS * 64;
        Hostile.parse(data.length, 64, fixed, () -> {
            if (Images.looksLikeImage(data)) {
                Images.dimensions(data, "fuzz input");
            }
            return null;
        });
        Hostile.parse(data.length, 64, fixed, () -> Images.read(data, "fuzz input", PixelRange.MINUS_ONE_ONE,
                MAX_PIXELS));
    }
}
