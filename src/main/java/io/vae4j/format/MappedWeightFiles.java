package io.vae4j.format;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The weight files this process has memory-mapped, to name the one that changed when reading a mapping faults.
 *
 * <p>Weights are mapped, not copied (a model costs no heap and loads instantly), and read lazily. Replacing a
 * model file by renaming a new one over it is safe: the mapping keeps the old file. Truncating or rewriting it in
 * place is not: a read past its new end is a SIGBUS. The JVM turns that fault, in its own reads of a mapping,
 * into an {@link InternalError} ("a fault occurred in an unsafe memory access operation") on the reading thread;
 * the front ends catch it and {@link #explain} says which file shrank. Native code reading a mapping directly
 * (oneDNN) gets the signal itself, which the JVM cannot recover from.
 *
 * <p>It also knows, for a tensor that is a view of a mapped file, which file and where in it ({@link #origin}): the
 * prepared-weights cache then remembers the tensor's digest for that version of the file instead of reading every
 * byte of it again in each process.
 */
public final class MappedWeightFiles {
    /** Path to the size it had when mapped; the latest mapping of a path wins. */
    private static final Map<Path, Long> MAPPED = new ConcurrentHashMap<>();
    /** Weight files mapped and still open, with the identity their bytes had when mapped. */
    private static final List<Mapping> LIVE = new CopyOnWriteArrayList<>();

    private record Mapping(MemorySegment file, FileIdentity identity) {
    }

    /** Where a view of a mapped weight file lies: the file (as it was when mapped) and the view's byte offset. */
    public record Origin(FileIdentity file, long offset) {
    }

    private MappedWeightFiles() {
    }

    /**
     * {@code size} bytes of {@code ch} mapped read-only, valid while {@code arena} is open (closing it unmaps them),
     * as a plain native segment rather than {@code FileChannel.map}'s own class. The kernels then meet one segment
     * class: where mapped and allocated segments reach the same loads, C2 keeps a type check and the session's
     * liveness check inside the loops (a warm SD decode ran 25% slower with its Winograd weights read from the
     * prepared-weights cache's mapping than from memory).
     */
    public static MemorySegment mapReadOnly(FileChannel ch, long size, Arena arena) throws IOException {
        MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        return MemorySegment.ofAddress(mapped.address()).reinterpret(size, arena, null).asReadOnly();
    }

    /**
     * Records that {@code path} was mapped as {@code file}; {@code before} is its {@link FileIdentity} taken before
     * the file was opened. Only when the identity after mapping is the same (no rename over the path, no write in
     * between) and matches the mapped size does {@link #origin} vouch for the mapping's bytes.
     */
    public static void mapped(Path path, MemorySegment file, FileIdentity before) {
        MAPPED.put(path.toAbsolutePath(), file.byteSize());
        LIVE.removeIf(m -> !m.file.scope().isAlive());
        if (before != null && file.isNative() && before.size() == file.byteSize()
                && before.equals(FileIdentity.of(path))) {
            LIVE.add(new Mapping(file, before));
        }
    }

    /**
     * The mapped weight file {@code view} lies in and its offset there, or null when it is not wholly inside one
     * that is still open (allocated memory, a copy, an unmapped file). The view must share the mapping's lifetime
     * as well as lie within its addresses, so memory that later reuses a closed mapping's addresses is never taken
     * for it.
     */
    public static Origin origin(MemorySegment view) {
        if (!view.isNative()) {
            return null;
        }
        for (Mapping m : LIVE) {
            MemorySegment f = m.file;
            long from = view.address() - f.address();
            if (f.scope().isAlive() && view.scope().equals(f.scope()) && from >= 0
                    && from + view.byteSize() <= f.byteSize()) {
                return new Origin(m.identity, from);
            }
        }
        return null;
    }

    /**
     * Whether {@code e} is the JVM's report of a fault while reading a mapping (a truncated file), as opposed to
     * another internal error.
     */
    public static boolean isMappingFault(Throwable e) {
        return e instanceof InternalError && e.getMessage() != null
                && e.getMessage().contains("fault occurred in an unsafe memory access");
    }

    /** One line for a mapping fault: which mapped file is now shorter than when it was mapped, or that one was. */
    public static String explain() {
        for (Map.Entry<Path, Long> m : MAPPED.entrySet()) {
            long now;
            try {
                now = Files.size(m.getKey());
            } catch (IOException e) {
                now = -1;
            }
            if (now < m.getValue()) {
                return "model file " + m.getKey() + " changed while in use: it was " + m.getValue() + " bytes when"
                        + " loaded and is " + (now < 0 ? "gone" : now + " bytes") + " now (rewrite a model in place"
                        + " only when nothing uses it; renaming a new file over it is safe)";
            }
        }
        return "a memory-mapped model file changed while in use (it was truncated or rewritten in place)";
    }
}
