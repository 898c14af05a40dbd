package io.vae4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Uninitialised off-heap memory from the C allocator, with large blocks kept for reuse.
 *
 * <p>{@link Arena#allocate} zeroes what it returns, which for the hundreds of megabytes of activations a large
 * decode produces costs real time for values that are overwritten at once. And a large block the C allocator frees
 * goes back to the kernel, so the next one of the same size is faulted in again page by page, zero-filled by the
 * kernel; a model allocates the same few activation sizes over and over, so freed blocks of 1 MiB and more wait
 * here (up to {@link #IDLE_LIMIT} bytes) for the next request of their size. A request that finds no idle block of
 * its size frees all idle blocks first, so the pool reuses memory by liveness (a freed activation becomes the next
 * one of its shape) without holding blocks for shapes the model has left behind. Blocks of 2 MiB and more ask for
 * transparent huge pages: 512 times fewer faults and TLB entries.
 */
final class NativeMemory {
    private static final MethodHandle ALIGNED_ALLOC;
    private static final MethodHandle FREE;
    private static final MethodHandle MADVISE;
    /** glibc's malloc_trim, or null elsewhere. */
    private static final MethodHandle MALLOC_TRIM;
    private static final long HUGE = 2L << 20;
    private static final long POOLED = 1L << 20;
    private static final int MADV_HUGEPAGE = 14;
    /** Idle bytes kept for reuse; -Dvae4j.pool.bytes overrides (0 turns the pool off). */
    static final long IDLE_LIMIT = Long.getLong("vae4j.pool.bytes", 1L << 30);
    /** The limit in force: lowered while a {@link ScratchSpace} bounds the resident set. */
    private static long idleLimit = IDLE_LIMIT;

    private static final Map<Long, ArrayDeque<Long>> IDLE = new HashMap<>();
    private static long idleBytes;

    static {
        Linker linker = Linker.nativeLinker();
        var libc = linker.defaultLookup();
        ALIGNED_ALLOC = linker.downcallHandle(libc.find("aligned_alloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        MADVISE = libc.find("madvise").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT))).orElse(null);
        MALLOC_TRIM = libc.find("malloc_trim").map(f -> linker.downcallHandle(f, FunctionDescriptor.of(
                ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG))).orElse(null);
    }

    private NativeMemory() {
    }

    /** {@code bytes} of uninitialised memory aligned to {@code align}, given back when {@code arena} closes. */
    static MemorySegment allocate(long bytes, long align, Arena arena) {
        long size = blockSize(bytes, align);
        long address = size >= POOLED ? reuse(size) : 0;
        if (address == 0) {
            if (size >= POOLED) {
                // A size nobody freed: the model has moved on to other shapes (the next resolution), so blocks
                // waiting for the old ones would only add to the peak.
                trim();
            }
            address = fresh(size, size >= HUGE ? HUGE : align);
        }
        long block = address;
        return MemorySegment.ofAddress(address).reinterpret(bytes, arena, s -> release(block, size));
    }

    /** The block size a request is served from: whole 2 MiB for large ones, so equal shapes share a size class. */
    private static long blockSize(long bytes, long align) {
        long unit = bytes >= HUGE ? HUGE : align;
        return Math.max(align, (bytes + unit - 1) / unit * unit);
    }

    private static synchronized long reuse(long size) {
        ArrayDeque<Long> free = IDLE.get(size);
        if (free == null || free.isEmpty()) {
            return 0;
        }
        idleBytes -= size;
        return free.pop();
    }

    private static void release(long address, long size) {
        synchronized (NativeMemory.class) {
            if (size >= POOLED && idleBytes + size <= idleLimit) {
                IDLE.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
                idleBytes += size;
                return;
            }
        }
        free(address);
    }

    private static long fresh(long size, long align) {
        MemorySegment p;
        try {
            p = (MemorySegment) ALIGNED_ALLOC.invokeExact(align, size);
        } catch (Throwable t) {
            throw new IllegalStateException("aligned_alloc failed", t);
        }
        if (p.equals(MemorySegment.NULL)) {
            // Idle blocks are the one thing we can give back before giving up.
            trim();
            try {
                p = (MemorySegment) ALIGNED_ALLOC.invokeExact(align, size);
            } catch (Throwable t) {
                throw new IllegalStateException("aligned_alloc failed", t);
            }
            if (p.equals(MemorySegment.NULL)) {
                throw new OutOfMemoryError("cannot allocate " + size + " bytes");
            }
        }
        if (size >= HUGE && MADVISE != null) {
            try {
                int ignored = (int) MADVISE.invokeExact(p, size, MADV_HUGEPAGE);
            } catch (Throwable t) {
                // Only a hint: without huge pages the memory works the same, just with more page faults.
            }
        }
        return p.address();
    }

    /** Sets the idle limit (and frees what is idle now): returns the previous limit, for restoring it. */
    static synchronized long limitIdle(long bytes) {
        long old = idleLimit;
        idleLimit = bytes;
        trim();
        return old;
    }

    /** Frees every idle block. */
    static void trim() {
        Map<Long, ArrayDeque<Long>> all;
        synchronized (NativeMemory.class) {
            all = new HashMap<>(IDLE);
            IDLE.clear();
            idleBytes = 0;
        }
        all.values().forEach(q -> q.forEach(NativeMemory::free));
        // Blocks under glibc's mmap threshold (which rises to 32 MiB as large blocks are freed) are carved from
        // its heaps, and free() leaves their pages resident: a tiled decode that frees a tile's blocks and
        // allocates the next shape's grew 125 MB per tile row that way. malloc_trim gives the free pages back.
        if (MALLOC_TRIM != null) {
            try {
                int ignored = (int) MALLOC_TRIM.invokeExact(0L);
            } catch (Throwable t) {
                // Only resident memory is at stake, not correctness.
            }
        }
    }

    private static void free(long address) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
