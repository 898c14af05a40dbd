package io.vae4j.format.torch;

import io.vae4j.VaeException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The entries of a zip archive, read from its central directory in a memory-mapped file. We parse the zip
 * ourselves because zero-copy storages need the offset where each entry's bytes start, which lives in the local
 * header (torch pads it with an extra field so storages start aligned) and which java.util.zip does not expose.
 * Supports ZIP64 (torch writes it for archives over 4 GiB); refuses multi-disk and encrypted archives.
 */
final class ZipIndex {
    static final int STORED = 0;
    static final int DEFLATED = 8;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final int LOCAL_SIG = 0x04034b50;
    private static final int CENTRAL_SIG = 0x02014b50;
    private static final int END_SIG = 0x06054b50;
    private static final int END64_LOCATOR_SIG = 0x07064b50;
    private static final int END64_SIG = 0x06064b50;
    private static final int END_SIZE = 22;
    private static final long MAX_ENTRIES = 1_000_000;

    /** One file in the archive; {@code dataOffset} is where its (possibly compressed) bytes start in the file. */
    record Entry(String name, int method, long compressedSize, long size, int crc, long dataOffset) {
    }

    private final List<Entry> entries;
    private final Map<String, Entry> byName;

    private ZipIndex(List<Entry> entries, Map<String, Entry> byName) {
        this.entries = entries;
        this.byName = byName;
    }

    List<Entry> entries() {
        return entries;
    }

    Entry get(String name) {
        return byName.get(name);
    }

    static ZipIndex read(MemorySegment file, String label) {
        long size = file.byteSize();
        long end = findEnd(file, label);
        if (u16(file, end + 4) != 0 || u16(file, end + 6) != 0) {
            throw new VaeException(label + ": multi-disk zip archives are not supported");
        }
        long count = u16(file, end + 10);
        long cdSize = u32(file, end + 12);
        long cdOffset = u32(file, end + 16);
        if (end >= 20 && file.get(U32, end - 20) == END64_LOCATOR_SIG) {
            long end64 = file.get(U64, end - 20 + 8);
            if (end64 < 0 || end64 > end - 20 - 56 || file.get(U32, end64) != END64_SIG) {
                throw corrupt(label, "bad ZIP64 end record");
            }
            count = file.get(U64, end64 + 32);
            cdSize = file.get(U64, end64 + 40);
            cdOffset = file.get(U64, end64 + 48);
        }
        if (count < 0 || count > MAX_ENTRIES || cdOffset < 0 || cdSize < 0 || cdOffset > size
                || cdSize > size - cdOffset) {
            throw corrupt(label, "central directory out of bounds");
        }
        List<Entry> entries = new ArrayList<>((int) Math.min(count, 4096));
        Map<String, Entry> byName = new HashMap<>();
        long p = cdOffset;
        long cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cdEnd || file.get(U32, p) != CENTRAL_SIG) {
                throw corrupt(label, "bad central directory entry #" + i);
            }
            int flags = u16(file, p + 8);
            int method = u16(file, p + 10);
            int crc = file.get(U32, p + 16);
            long csize = u32(file, p + 20);
            long usize = u32(file, p + 24);
            int nameLen = u16(file, p + 28);
            int extraLen = u16(file, p + 30);
            int commentLen = u16(file, p + 32);
            long local = u32(file, p + 42);
            long next = p + 46 + nameLen + extraLen + commentLen;
            if (next > cdEnd) {
                throw corrupt(label, "central directory entry #" + i + " overruns the directory");
            }
            String name = name(file, p + 46, nameLen);
            checkName(label, name);
            if ((flags & 1) != 0) {
                throw new VaeException(label + ": encrypted zip entry '" + name + "' is not supported");
            }
            // ZIP64: fields saturated at 0xffffffff are in the 0x0001 extra field, in this order.
            if (usize == 0xffffffffL || csize == 0xffffffffL || local == 0xffffffffL) {
                long[] z = zip64(file, p + 46 + nameLen, extraLen, label, name);
                int k = 0;
                if (usize == 0xffffffffL) {
                    usize = field(z, k++, label, name);
                }
                if (csize == 0xffffffffL) {
                    csize = field(z, k++, label, name);
                }
                if (local == 0xffffffffL) {
                    local = field(z, k, label, name);
                }
            }
            long data = dataOffset(file, local, name, label);
            if (usize < 0 || csize < 0 || csize > size - data) {
                throw corrupt(label, "entry '" + name + "' extends past the end of the file");
            }
            if (method == STORED && csize != usize) {
                throw corrupt(label, "stored entry '" + name + "' has different compressed and real sizes");
            }
            Entry e = new Entry(name, method, csize, usize, crc, data);
            if (byName.putIfAbsent(name, e) != null) {
                throw corrupt(label, "duplicate entry '" + name + "'");
            }
            entries.add(e);
            p = next;
        }
        return new ZipIndex(Collections.unmodifiableList(entries), byName);
    }

    /** The end record is the last 22+ bytes, possibly followed by a comment of up to 64 KiB. */
    private static long findEnd(MemorySegment file, String label) {
        long size = file.byteSize();
        long lowest = Math.max(0, size - END_SIZE - 0xffff);
        for (long p = size - END_SIZE; p >= lowest; p--) {
            if (file.get(U32, p) == END_SIG && p + END_SIZE + u16(file, p + 20) <= size) {
                return p;
            }
        }
        throw corrupt(label, "no zip end-of-central-directory record");
    }

    private static long dataOffset(MemorySegment file, long local, String name, String label) {
        if (local < 0 || local > file.byteSize() - 30 || file.get(U32, local) != LOCAL_SIG) {
            throw corrupt(label, "bad local header for '" + name + "'");
        }
        int nameLen = u16(file, local + 26);
        int extraLen = u16(file, local + 28);
        long data = local + 30 + nameLen + extraLen;
        if (data > file.byteSize()) {
            throw corrupt(label, "local header for '" + name + "' runs past the end of the file");
        }
        // The local name must agree, or a crafted archive could show one name in the directory and other data.
        if (!name(file, local + 30, nameLen).equals(name)) {
            throw corrupt(label, "local header name differs from the directory for '" + name + "'");
        }
        return data;
    }

    private static long[] zip64(MemorySegment file, long extra, int extraLen, String label, String name) {
        long p = extra;
        long end = extra + extraLen;
        while (p + 4 <= end) {
            int id = u16(file, p);
            int len = u16(file, p + 2);
            if (p + 4 + len > end) {
                break;
            }
            if (id == 0x0001) {
                long[] out = new long[len / 8];
                for (int i = 0; i < out.length; i++) {
                    out[i] = file.get(U64, p + 4 + 8L * i);
                }
                return out;
            }
            p += 4 + len;
        }
        throw corrupt(label, "entry '" + name + "' lacks its ZIP64 sizes");
    }

    private static long field(long[] z, int k, String label, String name) {
        if (k >= z.length) {
            throw corrupt(label, "entry '" + name + "' has a short ZIP64 field");
        }
        return z[k];
    }

    /**
     * Names never reach the file system here, but they are the keys storages are looked up by, and an archive
     * that tries traversal is hostile or broken either way.
     */
    private static void checkName(String label, String name) {
        if (name.isEmpty() || name.contains("..") || name.startsWith("/") || name.contains("\\")
                || name.indexOf('\0') >= 0 || (name.length() > 1 && name.charAt(1) == ':')) {
            throw new VaeException(label + ": refusing unsafe zip entry name '" + Unpickler.printable(name) + "'");
        }
    }

    private static String name(MemorySegment file, long at, int len) {
        return new String(file.asSlice(at, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private static int u16(MemorySegment s, long at) {
        return s.get(U16, at) & 0xffff;
    }

    private static long u32(MemorySegment s, long at) {
        return s.get(U32, at) & 0xffffffffL;
    }

    private static VaeException corrupt(String label, String what) {
        return new VaeException(label + ": corrupt zip archive: " + what);
    }
}
