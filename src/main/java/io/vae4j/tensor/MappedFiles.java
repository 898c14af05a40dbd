package io.vae4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * Shared file mappings made with libc directly rather than {@code FileChannel.map}: the file's blocks are reserved
 * with {@code posix_fallocate} before it is mapped, because a full disk met later, on a page fault inside a kernel,
 * is a SIGBUS that kills the JVM instead of an error we can report. The file is unlinked as soon as it is opened,
 * so no name is left behind however the process ends; its blocks go back when the mapping does.
 */
final class MappedFiles {
    private static final int O_RDWR = 2;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_CLOEXEC = 02000000;
    private static final int PROT_READ_WRITE = 3;
    private static final int MAP_SHARED = 1;
    private static final int MADV_RANDOM = 1;
    private static final int MADV_DONTNEED = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");
    private static final MethodHandle OPEN = libc("open", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), true);
    private static final MethodHandle FALLOCATE = libc("posix_fallocate", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG), false);
    private static final MethodHandle MMAP = libc("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), true);
    private static final MethodHandle MUNMAP = libc("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), false);
    private static final MethodHandle MADVISE = libc("madvise", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), false);
    private static final MethodHandle CLOSE = libc("close", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT), false);
    private static final MethodHandle UNLINK = libc("unlink", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS), false);
    private static final MethodHandle STRERROR = libc("strerror", FunctionDescriptor.of(ValueLayout.ADDRESS,
            ValueLayout.JAVA_INT), false);

    private MappedFiles() {
    }

    private static MethodHandle libc(String name, FunctionDescriptor fd, boolean errno) {
        MemorySegment f = LINKER.defaultLookup().find(name).orElseThrow(
                () -> new UnsupportedOperationException("libc has no " + name + "; scratch files need Linux"));
        return errno ? LINKER.downcallHandle(f, fd, CAPTURE) : LINKER.downcallHandle(f, fd);
    }

    /** Thrown with a reason fit for a one-line message ("No space left on device"). */
    static final class MapFailure extends Exception {
        MapFailure(String reason) {
            super(reason);
        }
    }

    /**
     * A new file {@code file} of {@code bytes} zero bytes, mapped shared read-write and already unlinked: the
     * address of the mapping, which {@link #unmap} ends (and with it the file's blocks).
     */
    static long mapNew(Path file, long bytes) throws MapFailure {
        try (Arena local = Arena.ofConfined()) {
            MemorySegment state = local.allocate(STATE);
            MemorySegment name = local.allocateFrom(file.toString());
            int fd = (int) OPEN.invokeExact(state, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0) {
                throw new MapFailure(reason((int) ERRNO.get(state, 0L)));
            }
            // Unlinked at once, before it is sized or mapped: the descriptor is all that is needed, and a kill -9
            // (no cleanup runs) between the mapping and a later unlink left the file behind (seen in FaultCliTest).
            int ignoredUnlink = (int) UNLINK.invokeExact(name);
            try {
                int err = (int) FALLOCATE.invokeExact(fd, 0L, bytes);
                if (err != 0) {
                    throw new MapFailure(reason(err));
                }
                MemorySegment p = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, bytes,
                        PROT_READ_WRITE, MAP_SHARED, fd, 0L);
                if (p.address() == -1L) {
                    throw new MapFailure(reason((int) ERRNO.get(state, 0L)));
                }
                // Kernels read a few rows of every channel, pages far apart: without this, each fault on pages
                // the page cache still holds maps whole readahead-sized folios around them, and a released
                // tensor read back band by band became resident several times over (see ScratchSpaceTest).
                int ignored = (int) MADVISE.invokeExact(p, bytes, MADV_RANDOM);
                return p.address();
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (MapFailure e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mapping a scratch file failed", t);
        }
    }

    /**
     * Drops this process's page table entries for the range: the pages leave our resident set but, the mapping
     * being shared with a file, their contents stay in the page cache (or on disk) and fault back in on the next
     * access. Safe while other threads use the range.
     */
    static void release(long address, long bytes) {
        try {
            int ignored = (int) MADVISE.invokeExact(MemorySegment.ofAddress(address), bytes, MADV_DONTNEED);
        } catch (Throwable t) {
            throw new IllegalStateException("madvise failed", t);
        }
    }

    static void unmap(long address, long bytes) {
        try {
            int ignored = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed", t);
        }
    }

    private static String reason(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
