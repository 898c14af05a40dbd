package io.vae4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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
 * <p>Idle blocks must not raise the peak of a single run: a request that finds no idle block of its size first
 * frees the longest-idle blocks until live + idle + the request fits under the largest live + idle seen so far, so
 * a one-off decode stays at the peak of its live memory, as if nothing were pooled. A run repeated at the same size
 * (a bench, a server) is different: its early and late stages' blocks cannot both fit under that peak, so the
 * rule would make each run give up the blocks the next stage of the next run asks for again. A size asked for
 * again after its block was given up is therefore marked recurring, and recurring blocks are exempt from the peak
 * rule while they keep at most {@link #RECURRING_SLACK} bytes above the peak of live memory and fit the idle
 * limit: from the third run on, every stage finds its blocks waiting (a 512x512 decode: 5.0-5.1 -> 4.5-4.7 s, 330
 * MB more resident). When they do not fit, keeping part of them would cost resident memory and spare few faults,
 * so the peak rule holds for all again. {@link #trim} forgets the marks. Blocks of 2 MiB and more ask for
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

    /** Idle blocks as {address, size}, oldest first. */
    private static final ArrayList<long[]> IDLE = new ArrayList<>();
    private static long idleBytes;
    /** Bytes of pooled-size blocks handed out and not yet released. */
    private static long liveBytes;
    /** The most live + idle bytes there have been: what the pool may fill without raising the resident peak. */
    private static long peakBytes;
    /** The most live bytes there have been: what the run needed at once. */
    private static long livePeakBytes;
    /** Sizes whose idle blocks the peak rule gave up, and those of them asked for again since (see above). */
    private static final Set<Long> GIVEN_UP = new HashSet<>();
    private static final Set<Long> RECURRING = new HashSet<>();
    /** How far recurring idle blocks may raise the resident peak; -Dvae4j.pool.slack overrides. */
    static final long RECURRING_SLACK = Long.getLong("vae4j.pool.slack", 512L << 20);
    /** Set when the recurring blocks did not fit (the slack or the idle limit): the peak rule for all, until trim. */
    private static boolean recurringOff;

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
                    if (!recurringOff && GIVEN_UP.contains(size)) {
                        RECURRING.add(size);
                    }
                    liveBytes += size;
                    livePeakBytes = Math.max(livePeakBytes, liveBytes);
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
                livePeakBytes = Math.max(livePeakBytes, liveBytes);
                return IDLE.remove(i)[0];
            }
        }
        return 0;
    }

    /**
     * Frees the longest-idle blocks not of a recurring size until a fresh block of {@code size} fits under the
     * peak: a size nobody freed means the model has moved on to other shapes, and blocks waiting for the old ones
     * may stay only while they cost no resident memory beyond what the run has already needed at once.
     */
    private static void makeRoom(long size) {
        List<long[]> evicted = new ArrayList<>();
        synchronized (NativeMemory.class) {
            evictUnderPeak(size, evicted);
            long needed = Math.max(livePeakBytes, liveBytes + size);
            if (liveBytes + idleBytes + size > needed + RECURRING_SLACK) {
                stopRecurring();
                peakBytes = needed;
                evictUnderPeak(size, evicted);
            }
        }
        if (!evicted.isEmpty()) {
            evicted.forEach(b -> free(b[0]));
            trimHeap();
        }
    }

    private static void evictUnderPeak(long size, List<long[]> evicted) {
        for (var it = IDLE.iterator(); it.hasNext() && liveBytes + idleBytes + size > peakBytes; ) {
            long[] block = it.next();
            if (!RECURRING.contains(block[1])) {
                it.remove();
                idleBytes -= block[1];
                GIVEN_UP.add(block[1]);
                evicted.add(block);
            }
        }
    }

    /**
     * The blocks of a repeated run do not fit (a 1024x1024 decode's in the default limits): keeping some of them
     * would raise the resident peak without sparing the faults, so the peak rule applies to all again.
     */
    private static void stopRecurring() {
        recurringOff = true;
        RECURRING.clear();
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
                        if (RECURRING.contains(oldest[1])) {
                            stopRecurring();
                        }
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

    /** Frees every idle block, forgets the recurring sizes, and counts the peak from what is live now. */
    static void trim() {
        List<long[]> all;
        synchronized (NativeMemory.class) {
            all = new ArrayList<>(IDLE);
            IDLE.clear();
            GIVEN_UP.clear();
            RECURRING.clear();
            recurringOff = false;
            idleBytes = 0;
            peakBytes = liveBytes;
            livePeakBytes = liveBytes;
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
