package io.vae4j.backend;

import io.vae4j.format.MappedWeightFiles;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Prepared weights (a backend's Winograd transforms) kept on disk between processes, so that a one-image run maps
 * them instead of recomputing them: {@code $XDG_CACHE_HOME/vae4j} (default {@code ~/.cache/vae4j}; the system
 * property {@code vae4j.cache.dir} overrides). One file per prepared tensor, named by the SHA-256 of everything its
 * bytes depend on: {@link #FORMAT}, the backend's form (algorithm, precision, vector width) and the source
 * weights' dtype, shape and bytes. Hashing the weights rather than naming the file they came from keeps a cache
 * entry right whatever the source (safetensors, .ckpt, a folder, random weights) and however it was edited.
 * What the hash of a tensor mapped from a weight file was is remembered beside the entries ({@link DigestMemo}),
 * keyed by that file's identity, so that later runs on the unchanged file do not read the raw weights at all.
 *
 * <p>An entry is trusted only when its header (magic, format, the full key, dtype, shape, length) and the CRC32C of
 * its payload check out; anything else is deleted and rebuilt. Entries are written to a temporary file in the same
 * directory and renamed over, so concurrent processes see a whole entry or none (two writers of one key write the
 * same bytes). The directory is kept under {@link #maxBytes()} (default 4 GiB, {@code vae4j.cache.max}) by deleting
 * the least recently used entries after each write; deleting the directory by hand is always safe.
 *
 * <p>Off with {@code --no-cache}, {@link #setEnabled(boolean)} or {@code -Dvae4j.cache=off}; failing to write (a
 * read-only or full disk) is logged once and the run goes on without it.
 */
public final class PreparedCache {
    /** Bump whenever any backend's prepared form changes its bytes: old entries then no longer match any key. */
    static final int FORMAT = 1;
    private static final byte[] MAGIC = "vae4jPW\n".getBytes(StandardCharsets.US_ASCII);
    /** The payload starts a page in, so its mapping is page-aligned (and so vector-aligned). */
    static final int HEADER_BYTES = 4096;
    private static final int MAX_RANK = 8;
    static final String SUFFIX = ".prepared";
    private static final String TEMP_PREFIX = ".tmp-";
    private static final long STALE_TEMP_MILLIS = 3_600_000;

    private static volatile Boolean enabled;
    private static volatile boolean writeFailureLogged;

    private PreparedCache() {
    }

    /** Turns the cache on or off for this process (the CLI's --no-cache; a server or library's choice). */
    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** Whether prepared weights are read from and written to the cache: on unless turned off. */
    public static boolean enabled() {
        Boolean e = enabled;
        if (e != null) {
            return e;
        }
        String p = System.getProperty("vae4j.cache", "on");
        return !(p.equals("off") || p.equals("false"));
    }

    /** Where the entries live. */
    public static Path directory() {
        String dir = System.getProperty("vae4j.cache.dir");
        if (dir != null && !dir.isEmpty()) {
            return Path.of(dir);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("vae4j");
    }

    /** The most bytes of entries kept; older ones are deleted past it. */
    public static long maxBytes() {
        return Long.getLong("vae4j.cache.max", 4L << 30);
    }

    /**
     * The SHA-256 of a tensor's dtype, shape and bytes: the part of a key that names the source weights. For a
     * tensor viewed straight from a mapped weight file it is remembered ({@link DigestMemo}) while the cache is on,
     * so a later process that maps the same, unchanged file need not read the tensor to name its entries.
     */
    public static byte[] digest(Tensor source) {
        MappedWeightFiles.Origin origin = enabled() ? MappedWeightFiles.origin(source.data()) : null;
        if (origin == null) {
            return hash(source);
        }
        Path dir = directory();
        long t0 = System.nanoTime();
        byte[] remembered = DigestMemo.read(dir, origin, source);
        if (remembered != null) {
            Stats.REMEMBERED.add(System.nanoTime() - t0);
            return remembered;
        }
        byte[] digest = hash(source);
        DigestMemo.write(dir, origin, source, digest);
        return digest;
    }

    private static byte[] hash(Tensor source) {
        MessageDigest md = sha256();
        md.update(source.dtype().name().getBytes(StandardCharsets.US_ASCII));
        md.update(Arrays.toString(source.shape()).getBytes(StandardCharsets.US_ASCII));
        MemorySegment data = source.data();
        long chunk = 1 << 20;
        for (long off = 0; off < data.byteSize(); off += chunk) {
            md.update(data.asSlice(off, Math.min(chunk, data.byteSize() - off)).asByteBuffer());
        }
        return md.digest();
    }

    /**
     * The prepared tensor of {@code form} (a string naming everything besides the source that its bytes depend on)
     * for source weights of digest {@code sourceDigest}: mapped from the cache when a valid entry exists, else made
     * by {@code make} and stored. The caller owns the result and closes it (which unmaps a mapped entry).
     */
    public static Tensor get(String form, Supplier<byte[]> sourceDigest, Supplier<Tensor> make) {
        if (!enabled()) {
            return made(make);
        }
        long t0 = System.nanoTime();
        byte[] key = key(form, sourceDigest.get());
        long t1 = System.nanoTime();
        Stats.HASH.add(t1 - t0);
        Path dir = directory();
        Path file = dir.resolve(HexFormat.of().formatHex(key, 0, 20) + SUFFIX);
        Tensor cached = read(file, key);
        if (cached != null) {
            Stats.HIT.add(System.nanoTime() - t1);
            return cached;
        }
        Tensor made = made(make);
        long t2 = System.nanoTime();
        write(dir, file, key, made);
        Stats.WRITE.add(System.nanoTime() - t2);
        return made;
    }

    private static Tensor made(Supplier<Tensor> make) {
        long t0 = System.nanoTime();
        Tensor t = make.get();
        Stats.MAKE.add(System.nanoTime() - t0);
        return t;
    }

    /**
     * Where a run's preparation time went, printed to stderr at exit with {@code -Dvae4j.cache.stats=true} (for
     * the benchmark record): hashing the weights (of those, the digests remembered from an earlier run), mapping
     * and checking entries, making transforms, writing them.
     */
    private enum Stats {
        HASH, REMEMBERED, HIT, MAKE, WRITE;

        private final java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();

        static {
            if (Boolean.getBoolean("vae4j.cache.stats")) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    StringBuilder b = new StringBuilder("vae4j: prepared weights:");
                    for (Stats s : values()) {
                        b.append(String.format(" %s %d in %.3f s;", s.name().toLowerCase(java.util.Locale.ROOT),
                                s.count.get(), s.nanos.get() / 1e9));
                    }
                    System.err.println(b);
                }));
            }
        }

        void add(long n) {
            nanos.addAndGet(n);
            count.incrementAndGet();
        }
    }

    static byte[] key(String form, byte[] sourceDigest) {
        MessageDigest md = sha256();
        md.update(("vae4j prepared " + FORMAT + "\n" + form + "\n").getBytes(StandardCharsets.UTF_8));
        md.update(sourceDigest);
        return md.digest();
    }

    /** The entry's tensor, or null when there is none or it does not check out (then it is deleted). */
    private static Tensor read(Path file, byte[] key) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            BackendLog.info("prepared-weights cache: cannot read " + file + " (" + e.getMessage() + "); rebuilding");
            return null;
        }
        Arena arena = Arena.ofShared();
        try (ch) {
            long size = ch.size();
            String problem = null;
            Tensor t = null;
            if (size < HEADER_BYTES) {
                problem = "shorter than its header";
            } else {
                MemorySegment all = MappedWeightFiles.mapReadOnly(ch, size, arena);
                Header h = Header.parse(all.asSlice(0, HEADER_BYTES).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
                problem = h.problem(key, size - HEADER_BYTES);
                if (problem == null) {
                    MemorySegment payload = all.asSlice(HEADER_BYTES, size - HEADER_BYTES);
                    if (crc(payload) != h.crc) {
                        problem = "checksum mismatch";
                    } else {
                        t = Tensor.owning(payload, h.dtype, arena, h.shape);
                    }
                }
            }
            if (t != null) {
                touch(file);
                return t;
            }
            arena.close();
            BackendLog.info("prepared-weights cache: " + file.getFileName() + " is invalid (" + problem
                    + "); rebuilding it");
            deleteQuietly(file);
            return null;
        } catch (IOException | RuntimeException e) {
            arena.close();
            BackendLog.info("prepared-weights cache: cannot map " + file + " (" + e.getMessage() + "); rebuilding");
            deleteQuietly(file);
            return null;
        }
    }

    private static void write(Path dir, Path file, byte[] key, Tensor t) {
        Path temp = null;
        try {
            Files.createDirectories(dir);
            temp = tempFile(dir);
            MemorySegment payload = t.data();
            ByteBuffer header = new Header(key, t.dtype(), t.shape(), payload.byteSize(), crc(payload)).encode();
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                writeFully(ch, header);
                long chunk = 64L << 20;
                for (long off = 0; off < payload.byteSize(); off += chunk) {
                    writeFully(ch, payload.asSlice(off, Math.min(chunk, payload.byteSize() - off)).asByteBuffer());
                }
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
            prune(dir, maxBytes());
        } catch (IOException | RuntimeException e) {
            if (!writeFailureLogged) {
                writeFailureLogged = true;
                BackendLog.info("prepared-weights cache: cannot write to " + dir + " (" + e.getMessage()
                        + "); going on without it");
            }
        } finally {
            if (temp != null) {
                deleteQuietly(temp);
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /**
     * Deletes the least recently used entries until the rest fit {@code max} bytes, and temporary files old enough
     * that their writer must be gone. Another process may delete the same files at the same time: any file may
     * vanish under us, and one that is still mapped somewhere stays readable there.
     */
    public static void prune(Path dir, long max) throws IOException {
        record Entry(Path path, long bytes, long used) {
        }
        List<Entry> entries = new ArrayList<>();
        long now = System.currentTimeMillis();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                try {
                    long modified = Files.getLastModifiedTime(p).toMillis();
                    if (name.startsWith(TEMP_PREFIX) && now - modified > STALE_TEMP_MILLIS) {
                        deleteQuietly(p);
                    } else if (name.endsWith(SUFFIX) || name.endsWith(DigestMemo.SUFFIX)) {
                        entries.add(new Entry(p, Files.size(p), modified));
                    }
                } catch (NoSuchFileException e) {
                    // deleted by another process meanwhile
                }
            }
        }
        long total = entries.stream().mapToLong(Entry::bytes).sum();
        entries.sort((a, b) -> Long.compare(a.used, b.used));
        for (Entry e : entries) {
            if (total <= max) {
                break;
            }
            deleteQuietly(e.path);
            total -= e.bytes;
        }
    }

    /** Marks an entry as used now, for {@link #prune}'s least-recently-used order. */
    private static void touch(Path file) {
        try {
            Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            // a read-only cache still serves its entries
        }
    }

    /** A fresh name in {@code dir} to write a file under before renaming it over its real one. */
    static Path tempFile(Path dir) {
        return dir.resolve(TEMP_PREFIX + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // left for the next prune
        }
    }

    private static long crc(MemorySegment payload) {
        CRC32C crc = new CRC32C();
        long chunk = 1 << 20;
        for (long off = 0; off < payload.byteSize(); off += chunk) {
            crc.update(payload.asSlice(off, Math.min(chunk, payload.byteSize() - off)).asByteBuffer());
        }
        return crc.getValue();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    /** An entry's first page: what its payload is and the key it was stored under. */
    private record Header(byte[] magic, int format, byte[] key, DType dtype, int[] shape, long bytes, long crc) {
        Header(byte[] key, DType dtype, int[] shape, long bytes, long crc) {
            this(MAGIC, FORMAT, key, dtype, shape, bytes, crc);
        }

        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.put(magic).putInt(format).put(key).putInt(dtype.ordinal()).putInt(shape.length);
            for (int d : shape) {
                b.putInt(d);
            }
            b.putLong(bytes).putLong(crc);
            return b.clear();
        }

        /** The header as stored, with null for fields that cannot be what they claim (then {@link #problem} says). */
        static Header parse(ByteBuffer b) {
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            int format = b.getInt();
            byte[] key = new byte[32];
            b.get(key);
            int dtype = b.getInt(), rank = b.getInt();
            if (dtype < 0 || dtype >= DType.values().length || rank < 0 || rank > MAX_RANK) {
                return new Header(magic, format, key, null, null, -1, 0);
            }
            int[] shape = new int[rank];
            for (int i = 0; i < rank; i++) {
                shape[i] = b.getInt();
            }
            return new Header(magic, format, key, DType.values()[dtype], shape, b.getLong(), b.getLong());
        }

        /** Why this header does not describe a valid entry for {@code expectedKey} with this payload, or null. */
        String problem(byte[] expectedKey, long payloadBytes) {
            if (!Arrays.equals(magic, MAGIC)) {
                return "not a vae4j prepared-weights file";
            }
            if (format != FORMAT) {
                return "format " + format + ", expected " + FORMAT;
            }
            if (!Arrays.equals(key, expectedKey)) {
                return "stored under another key";
            }
            if (dtype == null) {
                return "bad dtype or rank";
            }
            long elements;
            try {
                elements = Tensor.numel(shape);
            } catch (ArithmeticException | IllegalArgumentException e) {
                return "bad shape " + Arrays.toString(shape);
            }
            if (bytes != payloadBytes || elements * dtype.bytes != bytes) {
                return "length " + payloadBytes + " bytes, header says " + bytes + " for " + dtype
                        + Arrays.toString(shape);
            }
            return null;
        }
    }
}
