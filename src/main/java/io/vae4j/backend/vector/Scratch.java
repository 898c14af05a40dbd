package io.vae4j.backend.vector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Per-thread scratch memory for kernel temporaries (a tile of C, a row block of attention scores). It grows to the
 * largest request and is reused; the garbage collector frees it with the thread.
 *
 * <p>Kernels stage values here, never in Java arrays wrapped as segments: a heap segment reaching the Vector API's
 * or MemorySegment's shared access code makes its type profile polymorphic, and every kernel C2 compiles after that
 * gets slower code (a decode run after a bf16 one took 3.5x as long in the packed micro-kernel, its scalar weight
 * loads no longer inlined), so how fast a process ran depended on which paths it happened to take first.
 */
final class Scratch {
    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);
    private MemorySegment segment = MemorySegment.NULL;

    static MemorySegment floats(long count) {
        Scratch s = LOCAL.get();
        long bytes = count * 4;
        if (s.segment.byteSize() < bytes) {
            s.segment = Arena.ofAuto().allocate(Math.max(bytes, s.segment.byteSize() * 3 / 2), 64);
        }
        return s.segment;
    }
}
