package io.vae4j.format.npy;

import io.vae4j.VaeException;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.AtomicFiles;
import io.vae4j.util.Channels;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * NumPy .npy files (format versions 1.0, 2.0, 3.0), little-endian, C order. Floating-point arrays are read into
 * owned float32 tensors; int64 arrays (VQ codebook indices) into Java arrays. Writes are float32 or int64, version
 * 1.0.
 */
public final class Npy {
    private static final ValueLayout.OfDouble F64_LE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** numpy aligns the data to 64 bytes so that it can be memory-mapped and vector-loaded in place. */
    private static final int ALIGN = 64;

    private Npy() {
    }

    /** An int64 array: its shape and its values in C order. */
    public record Int64Array(int[] shape, long[] values) {
    }

    /** Reads a '&lt;f4', '&lt;f2' or '&lt;f8' array as an owned float32 tensor of the same shape. */
    public static Tensor read(Path file) {
        return withHeader(file, (h, ch) -> {
            DType source = switch (h.descr()) {
                case "<f4" -> DType.F32;
                case "<f2" -> DType.F16;
                case "<f8" -> null; // no DType for float64; converted below
                default -> throw unsupported(file, h.descr(), "'<f4', '<f2', '<f8'");
            };
            long bytes = h.dataBytes(file, source == null ? 8 : source.bytes);
            Tensor out = Tensor.allocate(DType.F32, h.shape());
            if (bytes == 0) {
                return out;
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, h.dataOffset(), bytes, arena);
                long n = out.numel();
                if (source == DType.F32) {
                    MemorySegment.copy(data, 0, out.data(), 0, bytes);
                } else if (source == DType.F16) {
                    for (long i = 0; i < n; i++) {
                        out.set(i, source.get(data, i));
                    }
                } else {
                    for (long i = 0; i < n; i++) {
                        out.set(i, (float) data.getAtIndex(F64_LE, i));
                    }
                }
                return out;
            } catch (IOException | RuntimeException e) {
                out.close();
                throw e;
            }
        });
    }

    /** Reads a '&lt;i8' array, for example VQ codebook indices of shape [B, H, W]. */
    public static Int64Array readInt64(Path file) {
        return withHeader(file, (h, ch) -> {
            if (!h.descr().equals("<i8")) {
                throw unsupported(file, h.descr(), "'<i8'");
            }
            long bytes = h.dataBytes(file, 8);
            if (bytes / 8 > Integer.MAX_VALUE - 8) {
                throw new VaeException(file + ": " + NpyHeader.pyShape(h.shape()) + " is too large for a Java array");
            }
            long[] values = new long[(int) (bytes / 8)];
            if (bytes > 0) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, h.dataOffset(), bytes, arena);
                    MemorySegment.copy(data, I64_LE, 0, values, 0, values.length);
                }
            }
            return new Int64Array(h.shape(), values);
        });
    }

    /** Writes {@code t} as a '&lt;f4' version 1.0 file, atomically; 16-bit tensors are widened. */
    public static void write(Path target, Tensor t) {
        byte[] header = header("<f4", t.shape());
        AtomicFiles.write(target, tmp -> {
            Tensor f32 = t.toF32();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                Channels.writeFully(ch, ByteBuffer.wrap(header));
                Channels.writeFully(ch, f32.data());
            } finally {
                if (f32 != t) {
                    f32.close();
                }
            }
        });
    }

    /** Writes {@code a} as a '&lt;i8' version 1.0 file, atomically. */
    public static void writeInt64(Path target, Int64Array a) {
        if (a.values().length != Tensor.numel(a.shape())) {
            throw new IllegalArgumentException(a.values().length + " values for shape " + Arrays.toString(a.shape()));
        }
        byte[] header = header("<i8", a.shape());
        AtomicFiles.write(target, tmp -> {
            ByteBuffer data = ByteBuffer.allocate(a.values().length * 8).order(ByteOrder.LITTLE_ENDIAN);
            data.asLongBuffer().put(a.values());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                Channels.writeFully(ch, ByteBuffer.wrap(header));
                Channels.writeFully(ch, data);
            }
        });
    }

    /** Magic, version 1.0, length, and the dict padded with spaces and a newline to a multiple of 64 bytes. */
    static byte[] header(String descr, int[] shape) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + NpyHeader.pyShape(shape)
                + ", }";
        int prefix = 10;
        int total = (prefix + dict.length() + 1 + ALIGN - 1) / ALIGN * ALIGN;
        int headerLen = total - prefix;
        if (headerLen > 0xffff) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs a .npy v2 header");
        }
        ByteBuffer buf = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        buf.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        buf.putShort((short) headerLen);
        buf.put(dict.getBytes(StandardCharsets.US_ASCII));
        while (buf.position() < total - 1) {
            buf.put((byte) ' ');
        }
        buf.put((byte) '\n');
        return buf.array();
    }

    private interface Body<T> {
        T read(NpyHeader h, FileChannel ch) throws IOException;
    }

    private static <T> T withHeader(Path file, Body<T> body) {
        if (Files.isDirectory(file)) {
            throw new VaeException(file + ": is a directory, expected a .npy file");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return body.read(NpyHeader.read(file, ch), ch);
        } catch (NoSuchFileException e) {
            throw new VaeException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new VaeException(file + ": permission denied", e);
        } catch (IOException e) {
            throw new VaeException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static VaeException unsupported(Path file, String descr, String supported) {
        return new VaeException(file + ": unsupported dtype '" + descr + "' in header field 'descr' (supported: "
                + supported + ")");
    }
}
