package io.vae4j.format.torch;

import io.vae4j.VaeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The bytes of one zip entry as a memory segment: a slice of the mapped file for stored entries (zero-copy), or
 * memory from the file's arena for deflated ones. Deflated entries are inflated into exactly their declared size
 * and no further, so a lying header cannot make us allocate or write more than we checked.
 */
final class EntryReader {
    static final long MAX_INFLATED = 16L << 30;
    static final long MAX_RATIO = 1000;
    /** Small entries cannot do harm whatever their ratio, and long runs of zeros legitimately compress ~1000:1. */
    private static final long RATIO_EXEMPT = 1 << 20;
    private static final int CHUNK = 1 << 30;

    private final MemorySegment file;
    private static final long ALIGNMENT = 64;
    private final Arena arena;
    private final String label;
    private long inflatedTotal;

    EntryReader(MemorySegment file, Arena arena, String label) {
        this.file = file;
        this.arena = arena;
        this.label = label;
    }

    MemorySegment read(ZipIndex.Entry e) {
        MemorySegment raw = file.asSlice(e.dataOffset(), e.compressedSize());
        return switch (e.method()) {
            case ZipIndex.STORED -> raw.address() % Long.BYTES == 0 ? raw : aligned(raw);
            case ZipIndex.DEFLATED -> inflate(e, raw);
            default -> throw new VaeException(label + ": zip entry '" + e.name() + "' uses unsupported compression method "
                    + e.method());
        };
    }

    /**
     * A copy of a stored entry that does not start on an 8-byte boundary. torch.save pads every storage to 64
     * bytes, but other zip writers need not, and kernels read weights with aligned float accesses (a misaligned mapped
     * float is an IllegalArgumentException at the first read, far from the file that caused it).
     */
    private MemorySegment aligned(MemorySegment raw) {
        try {
            return arena.allocate(Math.max(raw.byteSize(), 1), ALIGNMENT).asSlice(0, raw.byteSize()).copyFrom(raw);
        } catch (OutOfMemoryError x) {
            throw new VaeException(label + ": not enough memory to copy a misaligned zip entry (" + raw.byteSize()
                    + " bytes)");
        }
    }

    private MemorySegment inflate(ZipIndex.Entry e, MemorySegment raw) {
        long size = e.size();
        if (size > MAX_INFLATED || Math.addExact(inflatedTotal, size) > MAX_INFLATED) {
            throw new VaeException(label + ": refusing zip entry '" + e.name() + "': it declares " + size
                    + " uncompressed bytes (limit " + MAX_INFLATED + " in all)");
        }
        if (size > RATIO_EXEMPT && size / Math.max(e.compressedSize(), 1) > MAX_RATIO) {
            throw new VaeException(label + ": refusing zip entry '" + e.name() + "': compression ratio above "
                    + MAX_RATIO + ":1 (" + e.compressedSize() + " -> " + size + " bytes), likely a zip bomb");
        }
        inflatedTotal += size;
        MemorySegment out;
        try {
            out = arena.allocate(Math.max(size, 1), ALIGNMENT).asSlice(0, size);
        } catch (OutOfMemoryError x) {
            throw new VaeException(label + ": not enough memory to inflate zip entry '" + e.name() + "' (" + size
                    + " bytes)");
        }
        Inflater inf = new Inflater(true);
        try {
            long inPos = 0;
            long outPos = 0;
            ByteBuffer target = chunk(out, 0);
            ByteBuffer probe = ByteBuffer.allocate(1);
            while (!inf.finished()) {
                if (inf.needsInput()) {
                    if (inPos >= raw.byteSize()) {
                        throw corrupt(e, "compressed data ends early");
                    }
                    ByteBuffer in = chunk(raw, inPos);
                    inPos += in.remaining();
                    inf.setInput(in);
                    continue;
                }
                if (inf.needsDictionary()) {
                    throw corrupt(e, "needs a preset dictionary");
                }
                if (!target.hasRemaining() && outPos < size) {
                    target = chunk(out, outPos);
                }
                if (!target.hasRemaining()) {
                    // Every declared byte is written; any more output means the header lied.
                    if (inf.inflate(probe) > 0) {
                        throw new VaeException(label + ": refusing zip entry '" + e.name()
                                + "': it inflates to more than its declared " + size + " bytes");
                    }
                    continue;
                }
                outPos += inf.inflate(target);
            }
            if (outPos != size) {
                throw corrupt(e, "inflates to " + outPos + " bytes, not the declared " + size);
            }
        } catch (DataFormatException ex) {
            throw corrupt(e, "bad deflate data (" + ex.getMessage() + ")");
        } finally {
            inf.end();
        }
        CRC32 crc = new CRC32();
        for (long p = 0; p < size; p += CHUNK) {
            crc.update(chunk(out, p));
        }
        if ((int) crc.getValue() != e.crc()) {
            throw corrupt(e, "CRC mismatch");
        }
        return out;
    }

    /** Bytes inflated so far; the archive's real data volume, which bounds what strided copies may use. */
    long inflatedTotal() {
        return inflatedTotal;
    }

    private static ByteBuffer chunk(MemorySegment s, long from) {
        return s.asSlice(from, Math.min(CHUNK, s.byteSize() - from)).asByteBuffer();
    }

    private VaeException corrupt(ZipIndex.Entry e, String what) {
        return new VaeException(label + ": corrupt zip entry '" + e.name() + "': " + what);
    }
}
