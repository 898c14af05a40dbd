package io.vae4j.tensor;

import io.vae4j.VaeException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * A dense n-d array in off-heap memory. A tensor either owns its memory (one {@link Arena} per tensor, freed by
 * {@link #close()}) or is a view into memory someone else owns (a memory-mapped weight file, a batch slice), in
 * which case {@code close()} does nothing. Activations are NCHW float32 unless {@link #layout()} says otherwise.
 */
public final class Tensor implements AutoCloseable {
    /** Alignment of owned tensors: one cache line, also a whole 512-bit vector. */
    public static final long ALIGN = 64;

    private final MemorySegment data;
    private final DType dtype;
    private final Layout layout;
    private final int[] shape;
    private final Arena owner;

    private Tensor(MemorySegment data, DType dtype, Layout layout, int[] shape, Arena owner) {
        this.data = data;
        this.dtype = dtype;
        this.layout = layout;
        this.shape = shape;
        this.owner = owner;
    }

    /**
     * A new zero-filled tensor that owns its memory: in RAM, or inside a {@link ScratchSpace} (from its threshold
     * up) in a fresh scratch file, whose pages read as zero until written.
     */
    public static Tensor allocate(DType dtype, int... shape) {
        long bytes = numel(shape) * dtype.bytes;
        Arena arena = Arena.ofShared();
        try {
            ScratchSpace scratch = ScratchSpace.current();
            MemorySegment data = scratch != null && bytes >= scratch.threshold() ? scratch.map(bytes, arena)
                    : arena.allocate(Math.max(bytes, 1), ALIGN).asSlice(0, bytes);
            return new Tensor(data, dtype, Layout.NCHW, shape.clone(), arena);
        } catch (VaeException e) {
            arena.close();
            throw e;
        } catch (OutOfMemoryError | IllegalArgumentException e) {
            arena.close();
            throw new OutOfMemoryError("cannot allocate a " + dtype + " tensor of shape " + Arrays.toString(shape)
                    + " (" + bytes + " bytes)");
        }
    }

    /**
     * Gives the idle blocks kept for reuse back to the C allocator: for callers that have just finished with a
     * set of activation sizes they will not ask for again, and count their resident memory. The pool then keeps
     * idle blocks only up to the peak reached from here on.
     */
    public static void releaseIdle() {
        NativeMemory.trim();
    }

    public static Tensor allocate(int... shape) {
        return allocate(DType.F32, shape);
    }

    /**
     * A new float32 activation [N, C, H, W] in {@code layout}, contents undefined ({@link #uninitialized}): for
     * kernels that write every element in a backend's own layout.
     */
    public static Tensor uninitialized(Layout layout, int... shape) {
        Tensor t = uninitialized(shape);
        return layout == Layout.NCHW ? t : t.inLayout(layout);
    }

    /**
     * A new float32 tensor whose contents are undefined: for kernel outputs that write every element, where
     * zeroing first would only cost time. Inside a {@link ScratchSpace}, from its threshold up, in a scratch file.
     */
    public static Tensor uninitialized(int... shape) {
        ScratchSpace scratch = ScratchSpace.current();
        return scratch != null && numel(shape) * 4 >= scratch.threshold() ? allocate(DType.F32, shape)
                : workspace(shape);
    }

    /**
     * Like {@link #uninitialized} but always in RAM, even inside a {@link ScratchSpace}: for buffers a kernel
     * reuses many times within one call (convolution bands, attention's keys and values), which must stay resident
     * to be fast and whose size does not grow with the image, or is bounded by the caller.
     */
    public static Tensor workspace(int... shape) {
        long bytes = numel(shape) * 4;
        Arena arena = Arena.ofShared();
        try {
            return new Tensor(NativeMemory.allocate(bytes, ALIGN, arena), DType.F32, Layout.NCHW, shape.clone(),
                    arena);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new OutOfMemoryError("cannot allocate a float32 tensor of shape " + Arrays.toString(shape) + " ("
                    + bytes + " bytes)");
        }
    }

    /** A view over memory owned elsewhere; the caller keeps that memory alive for as long as the view is used. */
    public static Tensor view(MemorySegment data, DType dtype, int... shape) {
        long bytes = numel(shape) * dtype.bytes;
        if (data.byteSize() != bytes) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes cannot hold " + dtype
                    + Arrays.toString(shape));
        }
        return new Tensor(data, dtype, Layout.NCHW, shape.clone(), null);
    }

    /**
     * A tensor over memory that {@code owner} holds (a read-only file mapping): closing the tensor closes the
     * arena, which unmaps it.
     */
    public static Tensor owning(MemorySegment data, DType dtype, Arena owner, int... shape) {
        Tensor t = view(data, dtype, shape);
        return new Tensor(t.data, dtype, Layout.NCHW, t.shape, owner);
    }

    public static Tensor of(float[] values, int... shape) {
        if (values.length != numel(shape)) {
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        }
        Tensor t = allocate(shape);
        MemorySegment.copy(values, 0, t.data, DType.FLOAT, 0, values.length);
        return t;
    }

    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public MemorySegment data() {
        return data;
    }

    public DType dtype() {
        return dtype;
    }

    public Layout layout() {
        return layout;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long numel() {
        return numel(shape);
    }

    public boolean owned() {
        return owner != null;
    }

    /** Element i in NCHW (row-major) order; refused for a blocked layout, whose order differs. */
    public float get(long i) {
        requireNchw();
        return dtype.get(data, i);
    }

    /** Sets element i in NCHW (row-major) order; refused for a blocked layout. */
    public void set(long i, float v) {
        requireNchw();
        dtype.set(data, i, v);
    }

    private void requireNchw() {
        if (layout != Layout.NCHW) {
            throw new IllegalStateException("element access by NCHW index into a " + this
                    + " (convert it with Backend.toNchw first)");
        }
    }

    /**
     * This tensor's memory, owner and shape labelled with another layout: for a backend that has just written
     * its result in its own layout ({@code channels} a multiple of its block). Hands the memory over: only the
     * returned tensor is used (and closed) afterwards.
     */
    public Tensor inLayout(Layout to) {
        if (rank() != 4 || dtype != DType.F32 || !to.holds(shape[1])) {
            throw new IllegalArgumentException("cannot hold " + this + " in layout " + to);
        }
        return new Tensor(data, dtype, to, shape.clone(), owner);
    }

    /** This tensor as float32: itself when it already is, else a converted owned copy. */
    public Tensor toF32() {
        if (dtype == DType.F32) {
            return this;
        }
        requireNchw();
        Tensor out = allocate(DType.F32, shape);
        long n = numel();
        for (long i = 0; i < n; i++) {
            out.data.set(DType.FLOAT, i * 4, dtype.get(data, i));
        }
        return out;
    }

    /** An owned float32 copy, in the same layout. */
    public Tensor copyF32() {
        Tensor out = allocate(DType.F32, shape);
        if (dtype == DType.F32) {
            MemorySegment.copy(data, 0, out.data, 0, data.byteSize());
            return layout == Layout.NCHW ? out : out.inLayout(layout);
        } else {
            long n = numel();
            for (long i = 0; i < n; i++) {
                out.data.set(DType.FLOAT, i * 4, dtype.get(data, i));
            }
        }
        return out;
    }

    /** A view of the same memory with another shape of the same element count. */
    public Tensor reshape(int... newShape) {
        if (layout != Layout.NCHW && !Arrays.equals(newShape, shape)) {
            throw new IllegalStateException("cannot reshape a " + this + " (convert it with Backend.toNchw first)");
        }
        if (numel(newShape) != numel()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to "
                    + Arrays.toString(newShape));
        }
        return new Tensor(data, dtype, layout, newShape.clone(), null);
    }

    /** A view of items [from, from+count) along the first dimension. */
    public Tensor slice0(int from, int count) {
        if (from < 0 || count < 0 || from + count > shape[0]) {
            throw new IndexOutOfBoundsException(from + "+" + count + " of " + shape[0]);
        }
        long item = numel() / Math.max(shape[0], 1) * dtype.bytes;
        int[] s = shape.clone();
        s[0] = count;
        return new Tensor(data.asSlice(from * item, count * item), dtype, layout, s, null);
    }

    /** The values in NCHW order; refused for a blocked layout. */
    public float[] toFloatArray() {
        requireNchw();
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor too large for a Java array: " + Arrays.toString(shape));
        }
        float[] out = new float[(int) n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, DType.FLOAT, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = dtype.get(data, i);
            }
        }
        return out;
    }

    @Override
    public void close() {
        if (owner != null && owner.scope().isAlive()) {
            owner.close();
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " " + layout;
    }
}
