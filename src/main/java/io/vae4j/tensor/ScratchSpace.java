package io.vae4j.tensor;

import io.vae4j.VaeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Where large tensors live during a whole-image run too big for RAM: inside {@link #run}, every
 * {@link Tensor#allocate} and {@link Tensor#uninitialized} of at least {@link #threshold()} bytes on that thread
 * gets memory-mapped scratch file space in {@link #dir()} instead of RAM, so the model graph runs unchanged. The
 * files are unlinked the moment they are mapped: nothing is left in the directory after a crash, Ctrl-C or
 * {@code kill -9}.
 *
 * <p>The mapped pages a kernel touches still count in the process's resident set until released; a
 * {@link ResidentTrimmer} drops them from it whenever the set has grown by more than the slack since its last
 * release (their contents stay in the file), which keeps the peak bounded whatever the image size.
 */
public final class ScratchSpace implements AutoCloseable {
    /** Tensors from this size up go to scratch by default: below it, the files would cost more than they save. */
    public static final long DEFAULT_THRESHOLD = 4L << 20;

    private static final ScopedValue<ScratchSpace> CURRENT = ScopedValue.newInstance();
    private static final AtomicLong NAMES = new AtomicLong();
    /** The space whose trimmer {@link #checkpoint} polls: kernels' worker threads do not see the scoped value. */
    private static volatile ScratchSpace active;
    /** Checkpoints closer together than this do not look at the resident set again. */
    private static final long CHECKPOINT_NANOS = 1_000_000;
    /** Bound by {@link #inRam}: no scratch space. */
    private static final ScratchSpace NONE = new ScratchSpace();

    private final Path dir;
    private final long threshold;
    /** Address to length of every live mapping; guarded by {@code this}, as releases and unmaps must not cross. */
    private final Map<Long, Long> live = new HashMap<>();
    private final AtomicLong liveBytes = new AtomicLong();
    private final AtomicLong peakBytes = new AtomicLong();
    private final AtomicLong files = new AtomicLong();
    private final ResidentTrimmer trimmer;
    private final long poolLimit;
    /** Tensors made once per space by {@link #kept}, closed with it. */
    private final Map<Object, Tensor> kept = new ConcurrentHashMap<>();
    /** Idle native blocks kept for reuse while a scratch space is open: enough for a convolution's band buffer. */
    private static final long POOL_BYTES = 64L << 20;

    private ScratchSpace() {
        this.dir = null;
        this.threshold = Long.MAX_VALUE;
        this.trimmer = null;
        this.poolLimit = 0;
    }

    /**
     * @param residentSlack how far the resident set may grow before mapped pages are released; 0 releases
     *                      nothing (for tests)
     */
    public ScratchSpace(Path dir, long threshold, long residentSlack) {
        if (!Files.isDirectory(dir)) {
            throw new VaeException("--scratch " + dir + ": not a directory");
        }
        if (!Files.isWritable(dir)) {
            throw new VaeException("--scratch " + dir + ": not writable");
        }
        this.dir = dir.toAbsolutePath();
        this.threshold = threshold;
        this.trimmer = residentSlack > 0 ? ResidentTrimmer.start(this, residentSlack) : null;
        // Freed blocks kept for reuse would be resident memory outside the budget, up to a gigabyte.
        this.poolLimit = NativeMemory.limitIdle(POOL_BYTES);
        active = this;
    }

    /**
     * Called by kernels between bands of work: releases scratch pages from the resident set if it has grown past
     * the slack. Costs one volatile read when no scratch space is open.
     */
    public static void checkpoint() {
        ScratchSpace s = active;
        if (s != null && s.trimmer != null) {
            s.trimmer.poll(CHECKPOINT_NANOS);
        }
    }

    /** Runs {@code work} with this thread's large tensors in scratch. */
    public <T> T run(Supplier<T> work) {
        return ScopedValue.where(CURRENT, this).call(work::get);
    }

    /**
     * Runs {@code work} with its tensors in RAM even inside a scratch scope: for what outlives the run, such as
     * weights a backend prepares on first use.
     */
    public static <T> T inRam(Supplier<T> work) {
        return CURRENT.isBound() && CURRENT.get() != NONE ? ScopedValue.where(CURRENT, NONE).call(work::get)
                : work.get();
    }

    /**
     * The tensor kept under {@code key} in the scratch space in force on this thread, made by {@code make} (inside
     * the space, so in a scratch file from its threshold up) the first time the key is asked for, and closed when
     * the space closes; callers must not close it. For what every run in the space reads again but nobody needs
     * resident between reads, such as a convolution's transformed weights: the trimmer releases its pages with
     * the activations', and a kernel that reads them afterwards faults them back in from the page cache (or from
     * the file, whose blocks were reserved when it was mapped). Outside a scratch run, null.
     */
    public static Tensor kept(Object key, Supplier<Tensor> make) {
        ScratchSpace s = current();
        // computeIfAbsent makes each key once even when two threads ask at the same moment.
        return s == null ? null : s.kept.computeIfAbsent(key, k -> make.get());
    }

    /** The scratch space in force on this thread, or null. */
    static ScratchSpace current() {
        ScratchSpace s = CURRENT.isBound() ? CURRENT.get() : null;
        return s == NONE ? null : s;
    }

    public Path dir() {
        return dir;
    }

    public long threshold() {
        return threshold;
    }

    /** Bytes of scratch mapped now. */
    public long liveBytes() {
        return liveBytes.get();
    }

    /** The most scratch bytes mapped at once: the disk space the run needed. */
    public long peakBytes() {
        return peakBytes.get();
    }

    /** Scratch files made so far (all of them already unlinked). */
    public long files() {
        return files.get();
    }

    /** Times the trimmer released mapped pages from the resident set. */
    public long releases() {
        return trimmer == null ? 0 : trimmer.releases();
    }

    /** {@code bytes} of zeroed scratch, unmapped (and its blocks freed) when {@code arena} closes. */
    MemorySegment map(long bytes, Arena arena) {
        files.incrementAndGet();
        // Named per process and per file, so that spaces sharing a directory (or a process) never meet.
        Path file = dir.resolve(".vae4j-scratch-" + ProcessHandle.current().pid() + "-" + NAMES.incrementAndGet());
        long size = Math.max(bytes, 1);
        long address;
        try {
            address = MappedFiles.mapNew(file, size);
        } catch (MappedFiles.MapFailure e) {
            throw new VaeException("scratch directory " + dir + ": cannot get " + mib(bytes) + " more ("
                    + e.getMessage() + "; " + mib(liveBytes()) + " in use)");
        }
        synchronized (this) {
            live.put(address, size);
        }
        peakBytes.accumulateAndGet(liveBytes.addAndGet(size), Math::max);
        return MemorySegment.ofAddress(address).reinterpret(bytes, arena, s -> unmap(address));
    }

    private synchronized void unmap(long address) {
        Long size = live.remove(address);
        if (size != null) {
            MappedFiles.unmap(address, size);
            liveBytes.addAndGet(-size);
        }
    }

    /**
     * Drops every scratch page from the resident set; contents are kept. Under the lock, so that no mapping is
     * unmapped (and its addresses reused by private memory, which this would zero) while it runs.
     */
    synchronized void releaseAll() {
        live.forEach(MappedFiles::release);
    }

    @Override
    public void close() {
        if (active == this) {
            active = null;
        }
        kept.values().forEach(Tensor::close);
        kept.clear();
        if (trimmer != null) {
            trimmer.stop();
        }
        NativeMemory.limitIdle(poolLimit);
    }

    static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
