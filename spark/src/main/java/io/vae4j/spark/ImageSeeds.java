package io.vae4j.spark;

import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The --sample noise seed of one image: derived from the job's seed and the image's path alone, so a sample does
 * not depend on which task or partition met the image. The CLI's {@code encode --sample --seed} with this seed
 * gives the same latent.
 */
public final class ImageSeeds {
    private ImageSeeds() {
    }

    /** The first 8 bytes, sign bit cleared, of sha256(seed as 8 big-endian bytes, then the path in UTF-8). */
    public static long forImage(long seed, String path) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(ByteBuffer.allocate(8).putLong(seed).array());
            d.update(path.getBytes(StandardCharsets.UTF_8));
            // Non-negative, so it reads as a plain CLI argument.
            return ByteBuffer.wrap(d.digest()).getLong() & Long.MAX_VALUE;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
