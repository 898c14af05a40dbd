package io.vae4j.format.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Hand-built pickles and zip archives for the TorchFile tests. */
final class TestArchives {
    private TestArchives() {
    }

    /** Writes pickle opcodes by hand, so tests control every byte a hostile file could contain. */
    static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        Pickle op(byte[] raw) {
            out.writeBytes(raw);
            return this;
        }

        Pickle proto() {
            return op(0x80, 2);
        }

        Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
            return this;
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            u32(b.length);
            out.writeBytes(b);
            return this;
        }

        Pickle integer(long v) {
            op('J');
            return u32((int) v);
        }

        Pickle u32(long v) {
            return op((int) v & 0xff, (int) (v >>> 8) & 0xff, (int) (v >>> 16) & 0xff, (int) (v >>> 24) & 0xff);
        }

        Pickle mark() {
            return op('(');
        }

        Pickle tuple() {
            return op('t');
        }

        Pickle ints(long... v) {
            mark();
            for (long x : v) {
                integer(x);
            }
            return tuple();
        }

        Pickle reduce() {
            return op('R');
        }

        Pickle orderedDict() {
            return global("collections", "OrderedDict").op(')').reduce();
        }

        /** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) for storage data/key. */
        Pickle tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").mark();
            mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().op('Q');
            integer(offset).ints(size).ints(stride).op(0x89).orderedDict();
            return tuple().reduce();
        }

        /** key: tensor, then SETITEM into the dict on top of the stack. */
        Pickle item(String name, String storageType, String key, long numel, long offset, long[] size,
                    long[] stride) {
            str(name);
            tensor(storageType, key, numel, offset, size, stride);
            return op('s');
        }

        Pickle stop() {
            return op('.');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static long[] dims(long... d) {
        return d;
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    /** A torch-style archive: every entry under {@code archive/}; stored unless listed in {@code deflated}. */
    static Path zip(Path dir, String fileName, Map<String, byte[]> entries, String... deflated) throws IOException {
        Path p = dir.resolve(fileName);
        try (ZipOutputStream zos = new ZipOutputStream(Files.newOutputStream(p))) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (List.of(deflated).contains(e.getKey())) {
                    ze.setMethod(ZipEntry.DEFLATED);
                } else {
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setCrc(crc.getValue());
                }
                zos.putNextEntry(ze);
                zos.write(e.getValue());
                zos.closeEntry();
            }
        }
        return p;
    }

    static Map<String, byte[]> entries(Object... nameThenBytes) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenBytes.length; i += 2) {
            m.put((String) nameThenBytes[i], (byte[]) nameThenBytes[i + 1]);
        }
        return m;
    }

    /**
     * One entry of a zip written by {@link #rawZip}: {@code declaredSize} is what the directory claims the
     * uncompressed size is (-1: the truth); ZIP64 fields are used when it does not fit 32 bits or when asked.
     */
    record Raw(String name, byte[] data, boolean deflate, long declaredSize, boolean zip64) {
        Raw(String name, byte[] data, boolean deflate, long declaredSize) {
            this(name, data, deflate, declaredSize, false);
        }
    }

    /** A minimal zip writer that can lie about sizes and emit ZIP64 extra fields, which ZipOutputStream cannot. */
    static Path rawZip(Path dir, String fileName, Raw... raws) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> central = new ArrayList<>();
        for (Raw r : raws) {
            byte[] payload = r.deflate ? deflate(r.data) : r.data;
            CRC32 crc = new CRC32();
            crc.update(r.data);
            long usize = r.declaredSize < 0 ? r.data.length : r.declaredSize;
            boolean z64 = r.zip64 || usize >= 0xffffffffL;
            byte[] name = r.name.getBytes(StandardCharsets.UTF_8);
            int local = b.position();
            b.putInt(0x04034b50).putShort((short) 45).putShort((short) 0).putShort((short) (r.deflate ? 8 : 0))
                    .putInt(0).putInt((int) crc.getValue()).putInt(payload.length)
                    .putInt(z64 ? -1 : (int) usize).putShort((short) name.length).putShort((short) 0).put(name)
                    .put(payload);
            ByteBuffer c = ByteBuffer.allocate(46 + name.length + 12).order(ByteOrder.LITTLE_ENDIAN);
            c.putInt(0x02014b50).putShort((short) 45).putShort((short) 45).putShort((short) 0)
                    .putShort((short) (r.deflate ? 8 : 0)).putInt(0).putInt((int) crc.getValue())
                    .putInt(payload.length).putInt(z64 ? -1 : (int) usize).putShort((short) name.length)
                    .putShort((short) (z64 ? 12 : 0)).putShort((short) 0).putShort((short) 0).putShort((short) 0)
                    .putInt(0).putInt(local).put(name);
            if (z64) {
                c.putShort((short) 1).putShort((short) 8).putLong(usize);
            }
            byte[] cb = new byte[c.position()];
            c.flip().get(cb);
            central.add(cb);
        }
        int cdStart = b.position();
        central.forEach(b::put);
        int cdSize = b.position() - cdStart;
        b.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) raws.length)
                .putShort((short) raws.length).putInt(cdSize).putInt(cdStart).putShort((short) 0);
        Path p = dir.resolve(fileName);
        Files.write(p, java.util.Arrays.copyOf(b.array(), b.position()));
        return p;
    }

    static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(9, true);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }
}
