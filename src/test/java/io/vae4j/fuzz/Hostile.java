package io.vae4j.fuzz;

import io.vae4j.VaeException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

/**
 * The properties every parser of outside data holds, checked around one call of it by the fuzz targets.
 *
 * <ul>
 *   <li>Only the project's own error type leaves the parser: anything else (an IndexOutOfBounds, a NumberFormat, a
 *       NegativeArraySize, a StackOverflowError from unbounded recursion, an OutOfMemoryError) propagates out of
 *       {@link #parse} and Jazzer reports it as a finding. The message must be one non-blank line.</li>
 *   <li>Allocation is bounded by what the input really holds: the heap bytes this thread allocates plus the
 *       growth of native memory (Arena segments and direct buffers are both counted in the JDK's "direct" pool)
 *       must stay under {@code perInputByte} times the input's size plus {@code fixed}. A parser that sizes an
 *       array from a declared length before checking it against the file fails this on a small input that
 *       declares a large size; measuring the allocation finds that on the first such input, where a small heap
 *       (the other way) would only fail once the declared size passes -Xmx.</li>
 *   <li>No side effect on the file system: the directory holding the input holds nothing else afterwards (a
 *       parser that wrote a temporary or extracted a zip entry next to its input would show here). Class loading by
 *       a name from the input is what Jazzer's own ReflectiveCall sanitizer hooks (Class.forName and
 *       ClassLoader.loadClass), active in both modes.</li>
 * </ul>
 */
public final class Hostile {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final BufferPoolMXBean DIRECT = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
            .stream().filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();

    /**
     * Allowed on top of every bound: the first calls of a parser load and initialise classes (ImageIO's registry,
     * regex tables, exception stack traces), which allocates a few MiB once. A declared size that slips past the
     * checks asks for far more (a 2^31-wide row, a 2^40-element shape), and the fuzzer's comparison hooks steer it
     * to exactly such values.
     */
    private static final long FIRST_CALL = 32L << 20;

    private Hostile() {
    }

    /** A parse of outside data; it may throw only VaeException (its subclasses included). */
    @FunctionalInterface
    public interface Parse {
        /** Returns what the parse made (closed after the native bytes it holds are counted), or null. */
        AutoCloseable run() throws Exception;
    }

    /**
     * Runs {@code parse} and checks the properties above; returns whether it accepted the input. {@code inputBytes}
     * is the size of what the parser was given; {@code perInputByte} and {@code fixed} bound what it may allocate.
     */
    public static boolean parse(long inputBytes, long perInputByte, long fixed, Parse parse) {
        return parse(inputBytes, perInputByte, fixed, () -> 0, parse);
    }

    /**
     * As {@link #parse(long, long, long, Parse)}, with {@code earned} more allowed: what the input, once the parser
     * has checked it, may rightly take (a streaming reader's row buffers, once its width passed the limits),
     * asked for after the parse.
     */
    public static boolean parse(long inputBytes, long perInputByte, long fixed, LongSupplier earned, Parse parse) {
        long heap0 = THREADS.getCurrentThreadAllocatedBytes();
        long native0 = DIRECT.getMemoryUsed();
        long allowed = Math.addExact(Math.multiplyExact(inputBytes, perInputByte), fixed + FIRST_CALL);
        boolean accepted;
        try (AutoCloseable made = parse.run()) {
            allowed = Math.addExact(allowed, earned.getAsLong());
            long grown = DIRECT.getMemoryUsed() - native0;
            if (grown > allowed) {
                throw new AssertionError("the parser holds " + grown + " native bytes for a " + inputBytes
                        + "-byte input (bound " + allowed + ")");
            }
            accepted = true;
        } catch (VaeException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank() || m.contains("\n")) {
                throw new AssertionError("the refusal is not one line: " + m, e);
            }
            accepted = false;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new AssertionError("a checked exception escaped the parser: " + e, e);
        }
        if (!accepted) {
            allowed = Math.addExact(allowed, earned.getAsLong());
        }
        long heap = THREADS.getCurrentThreadAllocatedBytes() - heap0;
        if (heap > allowed) {
            // Once more, warm: a one-off cost (a class initialised, the fuzzer's own hooks set up on first use)
            // goes away, an allocation sized by the input does not.
            heap = warmAllocation(parse);
        }
        if (heap > allowed) {
            throw new AssertionError("the parser allocated " + heap + " heap bytes for a " + inputBytes
                    + "-byte input (bound " + allowed + ")");
        }
        long leaked = DIRECT.getMemoryUsed() - native0;
        if (leaked > 0) {
            throw new AssertionError("the parser leaked " + leaked + " native bytes (" + (accepted ? "accepted"
                    : "refused") + " input)");
        }
        return accepted;
    }

    private static long warmAllocation(Parse parse) {
        long heap0 = THREADS.getCurrentThreadAllocatedBytes();
        try (AutoCloseable made = parse.run()) {
            // only what it allocates counts here
        } catch (Exception e) {
            // refused again, as before
        }
        return THREADS.getCurrentThreadAllocatedBytes() - heap0;
    }

    /** Writes {@code bytes} to a fresh file named {@code name} in {@code dir}, emptied first. */
    public static Path input(Path dir, String name, byte[] bytes) {
        try {
            clear(dir);
            return Files.write(Files.createDirectories(dir).resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Fails when {@code dir} holds anything besides {@code input}. */
    public static void nothingBeside(Path input) {
        try (Stream<Path> s = Files.list(input.getParent())) {
            List<Path> other = s.filter(p -> !p.equals(input)).toList();
            if (!other.isEmpty()) {
                throw new AssertionError("parsing " + input.getFileName() + " left files beside it: " + other);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void clear(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.delete(p);
            }
        }
    }

    /** A per-JVM scratch directory for one fuzz target's inputs. */
    public static Path dir(String target) {
        try {
            return Files.createTempDirectory("vae4j-fuzz-" + target + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
