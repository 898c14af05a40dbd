package io.vae4j.backend.onednn;

import io.vae4j.backend.onednn.ffm.dnnl_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What one convolution call needs besides its arguments: a stream and reusable temporary buffers (the primitive's
 * scratchpad, blocked copies of source and destination). A backend lends one context per concurrent call, so calls
 * from several threads never share a stream or a buffer; buffers grow to the largest request and are kept.
 */
final class ExecContext implements AutoCloseable {
    static final int SCRATCHPAD = 0;
    static final int SRC = 1;
    static final int DST = 2;

    final MemorySegment stream;
    private final Arena[] arenas = new Arena[3];
    private final MemorySegment[] buffers = new MemorySegment[3];

    ExecContext(MemorySegment engine) {
        this.stream = Dnnl.stream(engine);
    }

    /** A buffer of at least {@code bytes} (64-aligned) in slot {@code slot}; contents are unspecified. */
    MemorySegment buffer(int slot, long bytes) {
        if (buffers[slot] == null || buffers[slot].byteSize() < bytes) {
            if (arenas[slot] != null) {
                arenas[slot].close();
                buffers[slot] = null;
            }
            arenas[slot] = Arena.ofShared();
            buffers[slot] = arenas[slot].allocate(Math.max(bytes, 64), 64);
        }
        return buffers[slot];
    }

    @Override
    public void close() {
        for (int i = 0; i < arenas.length; i++) {
            if (arenas[i] != null) {
                arenas[i].close();
                arenas[i] = null;
                buffers[i] = null;
            }
        }
        dnnl_h.dnnl_stream_destroy(stream);
    }
}
