package io.vae4j.backend;

import io.vae4j.format.MappedWeightFiles;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The weights' digests from earlier processes, so that a one-image run need not read every byte of a model it has
 * seen before just to name its cache entries ({@link PreparedCache#digest}). For a tensor viewed straight from a
 * mapped weight file, its SHA-256 is kept in a small file beside the cache entries, named by the file's
 * {@link io.vae4j.format.FileIdentity} (path, size, times, inode) and the tensor's offset, dtype and shape in it: an
 * edited file has another identity and so another memo. Reading the raw weights only to hash them had cost an SD
 * decoder's one-shot decode a quarter of a second and 180 MB of resident pages it never used again.
 *
 * <p>A file changed in the last {@link #racyNanos} gets no memo: its times come from a coarse clock, so a second
 * write in the same tick would leave them as they were (git's "racily clean" files). As a check that a memo
 * describes these bytes, it also holds the CRC32C of three of the tensor's pages (the first, the middle and the
 * last); a memo that fails it, or does not parse, is ignored and written anew.
 */
final class DigestMemo {
    static final String SUFFIX = ".digest";
    private static final String MAGIC = "vae4j digest memo 1";
    private static final long PAGE = 4096;
    private static final HexFormat HEX = HexFormat.of();
    /** How long ago a file must have last changed for its digests to be remembered. */
    static volatile long racyNanos = 2_000_000_000L;

    private DigestMemo() {
    }

    /** The remembered digest of {@code t}, which lies at {@code origin}, or null. */
    static byte[] read(Path dir, MappedWeightFiles.Origin origin, Tensor t) {
        byte[] key = key(origin, t);
        List<String> lines;
        try {
            lines = Files.readAllLines(file(dir, key), StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (lines.size() != 4 || !lines.get(0).equals(MAGIC) || !lines.get(1).equals(HEX.formatHex(key))
                || !lines.get(3).equals(Long.toHexString(sample(t.data())))) {
            return null;
        }
        try {
            byte[] digest = HEX.parseHex(lines.get(2));
            return digest.length == 32 ? digest : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Remembers {@code digest} for {@code t} at {@code origin}; a failure to write only costs the next run a hash. */
    static void write(Path dir, MappedWeightFiles.Origin origin, Tensor t, byte[] digest) {
        Instant now = Instant.now();
        if (now.getEpochSecond() * 1_000_000_000L + now.getNano() - origin.file().changedNanos() < racyNanos) {
            return;
        }
        byte[] key = key(origin, t);
        String text = MAGIC + "\n" + HEX.formatHex(key) + "\n" + HEX.formatHex(digest) + "\n"
                + Long.toHexString(sample(t.data())) + "\n";
        Path temp = PreparedCache.tempFile(dir);
        try {
            Files.createDirectories(dir);
            Files.writeString(temp, text, StandardCharsets.US_ASCII);
            Files.move(temp, file(dir, key), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            PreparedCache.deleteQuietly(temp);
        }
    }

    /** The SHA-256 of everything the memo is for: the file's identity and the tensor's place, dtype and shape. */
    private static byte[] key(MappedWeightFiles.Origin origin, Tensor t) {
        String what = MAGIC + "\n" + origin.file().describe() + "\noffset " + origin.offset() + " bytes "
                + t.data().byteSize() + " " + t.dtype().name() + Arrays.toString(t.shape());
        return PreparedCache.sha256().digest(what.getBytes(StandardCharsets.UTF_8));
    }

    private static Path file(Path dir, byte[] key) {
        return dir.resolve(HEX.formatHex(key, 0, 20) + SUFFIX);
    }

    /** CRC32C of the first, middle and last page of {@code data} (fewer where it is shorter). */
    private static long sample(MemorySegment data) {
        CRC32C crc = new CRC32C();
        long n = data.byteSize();
        for (long at : new long[]{0, Math.max(0, n / 2 - PAGE / 2), Math.max(0, n - PAGE)}) {
            crc.update(data.asSlice(at, Math.min(PAGE, n - at)).asByteBuffer());
        }
        return crc.getValue();
    }
}
