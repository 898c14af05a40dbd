package io.vae4j.util;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Loops that FileChannel leaves to the caller. */
public final class Channels {
    /** A ByteBuffer view is limited to 2 GB and a tensor is not, so segments go out in slices of this size. */
    private static final long CHUNK = 1L << 28;

    private Channels() {
    }

    public static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    public static void writeFully(FileChannel ch, MemorySegment data) throws IOException {
        for (long off = 0; off < data.byteSize(); off += CHUNK) {
            writeFully(ch, data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer());
        }
    }
}
