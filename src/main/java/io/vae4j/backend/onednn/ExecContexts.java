package io.vae4j.backend.onednn;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * The execution contexts an owner (a backend, a set of matmuls) lends to concurrent calls: one per call in flight,
 * kept for the next call, all closed with the owner. A context given back after the close is closed at once.
 */
final class ExecContexts implements AutoCloseable {
    private final MemorySegment engine;
    private final String owner;
    private final ConcurrentLinkedDeque<ExecContext> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    ExecContexts(MemorySegment engine, String owner) {
        this.engine = engine;
        this.owner = owner;
    }

    ExecContext borrow() {
        if (closed) {
            throw new IllegalStateException(owner + " closed");
        }
        ExecContext c = idle.pollFirst();
        return c != null ? c : new ExecContext(engine);
    }

    void giveBack(ExecContext c) {
        if (closed) {
            c.close();
        } else {
            idle.offerFirst(c);
        }
    }

    boolean closed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        for (ExecContext c; (c = idle.pollFirst()) != null; ) {
            c.close();
        }
    }
}
