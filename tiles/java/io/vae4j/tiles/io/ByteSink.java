package io.vae4j.tiles.io;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * Where a streaming image writer sends its bytes: a {@link PendingFile} (renamed into place on commit, deleted on
 * discard) or a stream such as an HTTP response body (flushed on commit; on discard the caller ends the stream
 * so its reader sees a truncated image, never a complete wrong one).
 */
public interface ByteSink {
    void write(ByteBuffer buf) throws IOException;

    /** Everything was written: publish it. */
    void commit();

    /** The output is abandoned. Idempotent. */
    void discard();

    /** A sink over a stream the caller owns and closes. */
    static ByteSink of(OutputStream out) {
        return new ByteSink() {
            private final byte[] copy = new byte[1 << 16];

            @Override
            public void write(ByteBuffer buf) throws IOException {
                if (buf.hasArray()) {
                    out.write(buf.array(), buf.arrayOffset() + buf.position(), buf.remaining());
                    buf.position(buf.limit());
                    return;
                }
                while (buf.hasRemaining()) {
                    int n = Math.min(copy.length, buf.remaining());
                    buf.get(copy, 0, n);
                    out.write(copy, 0, n);
                }
            }

            @Override
            public void commit() {
                try {
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public void discard() {
            }
        };
    }
}
