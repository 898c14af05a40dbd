package io.vae4j.server;

import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;

/**
 * The element types of the remote-VAE wire protocol, named as torch names them ({@code float16}, {@code float32},
 * {@code bfloat16}, {@code uint8}); tensors travel as raw little-endian C-order bytes.
 */
enum WireDType {
    FLOAT16("float16", 2), FLOAT32("float32", 4), BFLOAT16("bfloat16", 2), UINT8("uint8", 1);

    final String id;
    final int bytes;

    WireDType(String id, int bytes) {
        this.id = id;
        this.bytes = bytes;
    }

    /** The dtype a query names, or null for one the protocol does not know. */
    static WireDType parse(String s) {
        String v = s.toLowerCase(Locale.ROOT);
        if (v.startsWith("torch.")) {
            v = v.substring(6);
        }
        for (WireDType d : values()) {
            if (d.id.equals(v)) {
                return d;
            }
        }
        return switch (v) {
            case "half", "fp16" -> FLOAT16;
            case "float", "fp32" -> FLOAT32;
            case "bf16" -> BFLOAT16;
            default -> null;
        };
    }

    boolean isFloat() {
        return this != UINT8;
    }

    /** A new float32 tensor of the given shape from wire bytes (exactly numel·bytes of them). */
    Tensor read(byte[] body, int[] shape) {
        Tensor t = Tensor.allocate(DType.F32, shape);
        MemorySegment out = t.data();
        MemorySegment in = MemorySegment.ofArray(body);
        long n = t.numel();
        switch (this) {
            case FLOAT32 -> MemorySegment.copy(in, DType.FLOAT, 0, out, DType.FLOAT, 0, n);
            case FLOAT16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(DType.FLOAT, i, Float.float16ToFloat(in.getAtIndex(DType.SHORT, i)));
                }
            }
            case BFLOAT16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(DType.FLOAT, i, Float.intBitsToFloat(in.getAtIndex(DType.SHORT, i) << 16));
                }
            }
            case UINT8 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(DType.FLOAT, i, Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, i)));
                }
            }
        }
        return t;
    }

    /** The wire bytes of a float32 tensor in this dtype (float16 and bfloat16 round to nearest even). */
    byte[] write(Tensor t) {
        long n = t.numel();
        if (n * bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor too large for one response: " + t);
        }
        byte[] body = new byte[(int) (n * bytes)];
        MemorySegment out = MemorySegment.ofArray(body);
        MemorySegment in = t.data();
        switch (this) {
            case FLOAT32 -> MemorySegment.copy(in, DType.FLOAT, 0, out, DType.FLOAT, 0, n);
            case FLOAT16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(DType.SHORT, i, Float.floatToFloat16(in.getAtIndex(DType.FLOAT, i)));
                }
            }
            case BFLOAT16 -> {
                for (long i = 0; i < n; i++) {
                    out.setAtIndex(DType.SHORT, i, DType.floatToBf16(in.getAtIndex(DType.FLOAT, i)));
                }
            }
            case UINT8 -> throw new IllegalArgumentException("uint8 output is written by the caller");
        }
        return body;
    }
}
