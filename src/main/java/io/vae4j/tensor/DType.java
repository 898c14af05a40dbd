package io.vae4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Element types of stored tensors. Compute is always float32; F16 and BF16 are storage formats. */
public enum DType {
    F32(4), F16(2), BF16(2);

    /** Files are little-endian and may place tensors at any byte offset, so reads are unaligned. */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Reads element {@code i} of a segment holding this dtype, widened to float. */
    public float get(MemorySegment seg, long i) {
        return switch (this) {
            case F32 -> seg.get(FLOAT, i * 4);
            case F16 -> Float.float16ToFloat(seg.get(SHORT, i * 2));
            case BF16 -> Float.intBitsToFloat((seg.get(SHORT, i * 2) & 0xffff) << 16);
        };
    }

    /** Writes element {@code i}, rounding to nearest even for the 16-bit types. */
    public void set(MemorySegment seg, long i, float v) {
        switch (this) {
            case F32 -> seg.set(FLOAT, i * 4, v);
            case F16 -> seg.set(SHORT, i * 2, Float.floatToFloat16(v));
            case BF16 -> seg.set(SHORT, i * 2, floatToBf16(v));
        }
    }

    public static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** The safetensors / numpy spelling. */
    public static DType parseSafetensors(String s) {
        return switch (s) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> null;
        };
    }

    public String safetensorsName() {
        return name();
    }
}
