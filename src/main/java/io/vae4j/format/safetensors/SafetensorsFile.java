package io.vae4j.format.safetensors;

import io.vae4j.VaeException;
import io.vae4j.format.FileIdentity;
import io.vae4j.format.MappedWeightFiles;
import io.vae4j.format.WeightFile;
import io.vae4j.format.json.Json;
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
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;

/**
 * A memory-mapped, fully validated safetensors file: an 8-byte little-endian header length, a UTF-8 JSON header,
 * then the tensor bytes. Tensors are views into the mapping and become unusable (not dangerous: access throws)
 * once the file is closed.
 */
public final class SafetensorsFile implements WeightFile {
    /** Far above any real header (SDXL's VAE needs ~30 KB); stops a corrupt length from allocating gigabytes. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final SequencedMap<String, Tensor> tensors;
    private final Map<String, String> metadata;
    private final Map<String, String> skipped;

    private SafetensorsFile(Path path, Arena arena, SequencedMap<String, Tensor> tensors, Map<String, String> meta,
                            Map<String, String> skipped) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = meta;
        this.skipped = skipped;
    }

    public static SafetensorsFile open(Path path) {
        if (Files.isDirectory(path)) {
            throw new VaeException(path + ": is a directory, expected a .safetensors file");
        }
        Arena arena = Arena.ofShared();
        FileIdentity before = FileIdentity.of(path);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new VaeException(path + ": file is " + size + " bytes, too short for a safetensors header"
                        + " (needs at least 8)");
            }
            MemorySegment file = MappedWeightFiles.mapReadOnly(ch, size, arena);
            MappedWeightFiles.mapped(path, file, before);
            long headerLen = file.get(U64_LE, 0);
            checkHeaderLength(path, headerLen, size);
            byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            long dataStart = 8 + headerLen;
            SafetensorsHeader header = SafetensorsHeader.parse(path, headerBytes, size - dataStart);
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> skipped = new LinkedHashMap<>();
            for (SafetensorsHeader.Entry e : header.entries()) {
                if (e.dtype() == null) {
                    skipped.put(e.name(), e.dtypeName());
                    continue;
                }
                MemorySegment slice = file.asSlice(dataStart + e.begin(), e.end() - e.begin());
                if (slice.address() % e.dtype().bytes != 0) {
                    // The format pads its header so that tensors start aligned, but not every writer does; kernels
                    // read weights with aligned accesses, so a misaligned tensor is copied once.
                    slice = arena.allocate(Math.max(slice.byteSize(), 1), 64).asSlice(0, slice.byteSize())
                            .copyFrom(slice);
                }
                tensors.put(e.name(), Tensor.view(slice, e.dtype(), e.shape()));
            }
            return new SafetensorsFile(path, arena, Collections.unmodifiableSequencedMap(tensors), header.metadata(),
                    Collections.unmodifiableMap(skipped));
        } catch (NoSuchFileException e) {
            arena.close();
            throw new VaeException(path + ": no such file", e);
        } catch (AccessDeniedException e) {
            arena.close();
            throw new VaeException(path + ": permission denied", e);
        } catch (IOException e) {
            arena.close();
            throw new VaeException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static void checkHeaderLength(Path path, long headerLen, long size) {
        // Read as unsigned: a huge u64 is negative as a Java long and must not slip past the bound checks.
        String len = Long.toUnsignedString(headerLen);
        if (headerLen == 0) {
            throw new VaeException(path + ": header length is 0, expected a JSON header");
        }
        if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
            throw new VaeException(path + ": header length " + len + " exceeds the limit of " + MAX_HEADER_BYTES
                    + " bytes (corrupt or not a safetensors file)");
        }
        if (headerLen > size - 8) {
            throw new VaeException(path + ": header length " + len + " goes past the end of the " + size
                    + "-byte file (truncated or not a safetensors file)");
        }
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public SequencedMap<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensors left out of {@link #tensors()} because the runtime does not compute in their dtype (name → dtype). */
    @Override
    public Map<String, String> skipped() {
        return skipped;
    }

    @Override
    public void close() {
        synchronized (arena) {
            if (arena.scope().isAlive()) {
                arena.close();
            }
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }

    /**
     * Writes {@code tensors} in the given order with each tensor's own dtype, atomically (see {@link AtomicFiles}).
     * {@code metadata} may be null or empty, in which case no {@code __metadata__} entry is written.
     */
    public static void write(Path target, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
        byte[] header = header(target, tensors, metadata);
        AtomicFiles.write(target, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                Channels.writeFully(ch, len);
                Channels.writeFully(ch, ByteBuffer.wrap(header));
                for (Tensor t : tensors.values()) {
                    Channels.writeFully(ch, t.data());
                }
            }
        });
    }

    /** The JSON header, padded with spaces so the data area starts 8-byte aligned (as the reference writer does). */
    private static byte[] header(Path target, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
        Map<String, Object> json = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            json.put(SafetensorsHeader.METADATA_KEY, metadata);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(SafetensorsHeader.METADATA_KEY)) {
                throw new VaeException("cannot write " + target + ": '" + SafetensorsHeader.METADATA_KEY
                        + "' is reserved and cannot name a tensor");
            }
            Tensor t = e.getValue();
            long end = offset + t.data().byteSize();
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", t.dtype().safetensorsName());
            info.put("shape", t.shape());
            info.put("data_offsets", new long[] {offset, end});
            json.put(e.getKey(), info);
            offset = end;
        }
        byte[] text = Json.write(json).getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) & ~7;
        if (padded > MAX_HEADER_BYTES) {
            throw new VaeException("cannot write " + target + ": header of " + padded + " bytes exceeds the limit of "
                    + MAX_HEADER_BYTES);
        }
        byte[] out = new byte[padded];
        System.arraycopy(text, 0, out, 0, text.length);
        Arrays.fill(out, text.length, padded, (byte) ' ');
        return out;
    }
}
