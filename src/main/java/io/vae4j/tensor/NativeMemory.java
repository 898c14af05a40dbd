package io.vae4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * Uninitialised off-heap memory from the C allocator, with large blocks kept for reuse.
 *
 * <p>{@link Arena#allocate} zeroes what it returns, which for the hundreds of megabytes of activations a large
 * decode produces costs real time for values that are overwritten at once. And a large block the C allocator frees
 * goes back to the kernel, so the next one of the same size is faulted in again page by page, zero-filled by the
 * kernel (measured: a tenth of a warm 512x512 decode's time went to zeroing fresh pages when every new shape
 * emptied the pool). A model allocates the same few activation sizes over and over, so freed blocks of 1 MiB and
 * more wait here (up to {@link #IDLE_LIMIT} bytes) for the next request of their size.
 *
 * <p>Idle blocks must not raise the peak: a request that finds no idle block of its size first frees the
 * longest-idle blocks until live + idle + the request fits under the largest live + idle seen so far. The resident
 * peak therefore stays the peak of live memory, as if nothing were pooled, while a model run again at the same size
 * (a bench, a server) finds last run's blocks of the late, large shapes still waiting. Blocks of 2 MiB and more ask
 * for transparent huge pages: 512 times fewer faults and TLB entries.
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

    /** Idle blocks as {address, size}, oldest first. */
    private static final ArrayList<long[]> IDLE = new ArrayList<>();
    private static long idleBytes;
    /** Bytes of pooled-size blocks handed out and not yet released. */
    private static long liveBytes;
    /** The most live + idle bytes there have been: what the pool may fill without raising the resident peak. */
    private static long peakBytes;

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
                makeRoom(size);
            }
            address = fresh(size, size >= HUGE ? HUGE : align);
            if (size >= POOLED) {
                synchronized (NativeMemory.class) {
                    liveBytes += size;
                    peakBytes = Math.max(peakBytes, liveBytes + idleBytes);
                }
            }
        }
        long block = address;
        return MemorySegment.ofAddress(address).reinterpret(bytes, arena, s -> release(block, size));
    }

    /** The block size a request is served from: whole 2 MiB for large ones, so equal shapes share a size class. */
    private static long blockSize(long bytes, long align) {
        long unit = bytes >= HUGE ? HUGE : align;
        return Math.max(align, (bytes + unit - 1) / unit * unit);
    }

    /** The most recently released idle block of exactly this size (its pages likeliest in cache), or 0. */
    private static synchronized long reuse(long size) {
        for (int i = IDLE.size() - 1; i >= 0; i--) {
            if (IDLE.get(i)[1] == size) {
                idleBytes -= size;
                liveBytes += size;
                return IDLE.remove(i)[0];
            }
        }
        return 0;
    }

    /**
     * Frees the longest-idle blocks until a fresh block of {@code size} fits under the peak: a size nobody freed
     * means the model has moved on to other shapes, and blocks waiting for the old ones may stay only while they
     * cost no resident memory beyond what the run has already needed at once.
     */
    private static void makeRoom(long size) {
        List<long[]> evicted = new ArrayList<>();
        synchronized (NativeMemory.class) {
            while (!IDLE.isEmpty() && liveBytes + idleBytes + size > peakBytes) {
                long[] oldest = IDLE.removeFirst();
                idleBytes -= oldest[1];
                evicted.add(oldest);
            }
        }
        if (!evicted.isEmpty()) {
            evicted.forEach(b -> free(b[0]));
            trimHeap();
        }
    }

    /**
     * A pooled block waits for reuse; when the idle limit is reached, the longest-idle blocks make way for it: the
     * block just released is of a shape the model is working at now, the oldest of one it has left behind (keeping
     * the old ones instead cost a warm 512x512 decode 5% of its time faulting in fresh pages at its last stage).
     */
    private static void release(long address, long size) {
        List<long[]> evicted = new ArrayList<>();
        synchronized (NativeMemory.class) {
            if (size >= POOLED) {
                liveBytes -= size;
                if (size <= idleLimit) {
                    while (idleBytes + size > idleLimit) {
                        long[] oldest = IDLE.removeFirst();
                        idleBytes -= oldest[1];
                        evicted.add(oldest);
                    }
                    IDLE.add(new long[]{address, size});
                    idleBytes += size;
                    address = 0;
                }
            }
        }
        evicted.forEach(b -> free(b[0]));
        if (address != 0) {
            free(address);
        }
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

    static synchronized long idleBytes() {
        return idleBytes;
    }

    /** Sets the idle limit (and frees what is idle now): returns the previous limit, for restoring it. */
    static synchronized long limitIdle(long bytes) {
        long old = idleLimit;
        idleLimit = bytes;
        trim();
        return old;
    }

    /** Frees every idle block, and counts the peak the pool may fill from what is live now. */
    static void trim() {
        List<long[]> all;
        synchronized (NativeMemory.class) {
            all = new ArrayList<>(IDLE);
            IDLE.clear();
            idleBytes = 0;
            peakBytes = liveBytes;
        }
        all.forEach(b -> free(b[0]));
        trimHeap();
    }

    private static void trimHeap() {
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
