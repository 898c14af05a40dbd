package io.vae4j.format.torch;

import io.vae4j.VaeException;
import io.vae4j.format.torch.Pickled.TensorRef;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * Turns a pickled (storage, offset, size, stride) into a Tensor. Contiguous tensors, the norm in a state dict,
 * become views of the storage; a saved view or transpose is copied into dense row-major memory from the file's
 * arena, because Tensor has no strides.
 */
final class StridedTensors {
    private static final int MAX_RANK = 64;

    private StridedTensors() {
    }

    /**
     * Caps the memory spent on copies. Without it a tiny hostile file could describe a broadcast view (stride 0)
     * of billions of elements; a real checkpoint's copies never exceed the data it actually holds.
     */
    static final class CopyBudget {
        private final LongSupplier limit;
        private long used;

        CopyBudget(LongSupplier limit) {
            this.limit = limit;
        }

        void take(long bytes, String what) {
            if (bytes > limit.getAsLong() - used) {
                throw new VaeException(what + " is a strided view that needs a " + bytes
                        + "-byte copy, more than the archive holds; re-save it with .contiguous()");
            }
            used += bytes;
        }
    }

    /** {@code what} names the tensor in errors, e.g. "file.pth: tensor 'conv.weight'". */
    static Tensor build(TensorRef ref, DType dtype, MemorySegment storage, Arena arena, CopyBudget budget,
                        String what) {
        long[] size = ref.size();
        long[] stride = ref.stride();
        if (size.length > MAX_RANK) {
            throw new VaeException(what + " has " + size.length + " dimensions");
        }
        int[] shape = new int[size.length];
        long numel = 1;
        long extent = ref.offset() + 1;
        try {
            for (int i = 0; i < size.length; i++) {
                if (size[i] > Integer.MAX_VALUE) {
                    throw new ArithmeticException();
                }
                shape[i] = (int) size[i];
                numel = Math.multiplyExact(numel, size[i]);
                if (size[i] > 0) {
                    extent = Math.addExact(extent, Math.multiplyExact(size[i] - 1, stride[i]));
                }
            }
            Math.multiplyExact(numel, (long) dtype.bytes);
        } catch (ArithmeticException e) {
            throw new VaeException(what + " has an impossible shape " + Arrays.toString(size) + " / stride "
                    + Arrays.toString(stride));
        }
        if (numel == 0) {
            return Tensor.view(storage.asSlice(0, 0), dtype, shape);
        }
        long available = storage.byteSize() / dtype.bytes;
        if (extent > available) {
            throw new VaeException(what + " needs " + extent + " elements but its storage has " + available);
        }
        int eb = dtype.bytes;
        if (contiguous(size, stride)) {
            return Tensor.view(storage.asSlice(ref.offset() * eb, numel * eb), dtype, shape);
        }
        budget.take(numel * eb, what);
        MemorySegment out;
        try {
            out = arena.allocate(numel * eb, Tensor.ALIGN);
        } catch (OutOfMemoryError e) {
            throw new VaeException(what + ": not enough memory for a " + numel * eb + "-byte copy");
        }
        copy(storage, ref.offset(), size, stride, eb, out);
        return Tensor.view(out, dtype, shape);
    }

    /** Dimensions of size 1 may carry any stride; torch often leaves odd ones there. */
    static boolean contiguous(long[] size, long[] stride) {
        long expected = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= size[i];
        }
        return true;
    }

    private static void copy(MemorySegment src, long offset, long[] size, long[] stride, int eb, MemorySegment out) {
        int r = size.length;
        long inner = size[r - 1];
        long innerStride = stride[r - 1];
        long[] idx = new long[r - 1];
        long outPos = 0;
        long total = out.byteSize();
        while (outPos < total) {
            long base = offset;
            for (int d = 0; d < r - 1; d++) {
                base += idx[d] * stride[d];
            }
            if (innerStride == 1) {
                MemorySegment.copy(src, base * eb, out, outPos, inner * eb);
                outPos += inner * eb;
            } else {
                for (long j = 0; j < inner; j++, outPos += eb) {
                    long at = (base + j * innerStride) * eb;
                    if (eb == 4) {
                        out.set(ValueLayout.JAVA_INT_UNALIGNED, outPos, src.get(ValueLayout.JAVA_INT_UNALIGNED, at));
                    } else {
                        out.set(ValueLayout.JAVA_SHORT_UNALIGNED, outPos,
                                src.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
                    }
                }
            }
            for (int d = r - 2; d >= 0; d--) {
                if (++idx[d] < size[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
}
