package io.vae4j.format.torch;

import io.vae4j.VaeException;
import io.vae4j.format.FileIdentity;
import io.vae4j.format.MappedWeightFiles;
import io.vae4j.format.WeightFile;
import io.vae4j.format.torch.Pickled.PDict;
import io.vae4j.format.torch.Pickled.StorageRef;
import io.vae4j.format.torch.Pickled.TensorRef;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.StringJoiner;

/**
 * A PyTorch checkpoint written by {@code torch.save} (the zip format of torch >= 1.6): {@code .pth}, {@code .pt},
 * {@code .ckpt}, {@code .bin}. The archive's {@code data.pkl} is read with a restricted unpickler that only
 * understands tensor state dicts, so opening an untrusted file never runs code. Tensors are views into the
 * memory-mapped file (stored entries, the norm) or into memory this object owns (deflated entries,
 * non-contiguous tensors); all of it is released by {@link #close()}.
 *
 * <p>For Lightning-style checkpoints ({@code {'state_dict': {...}, 'epoch': ..., ...}}) the tensors are those of
 * the nested {@code state_dict}. Tensors whose storage is not float32/float16/bfloat16 (step counters, position
 * ids) are left out of {@link #tensors()} and listed in {@link #skipped()}; asking for one by name gives an
 * error naming its storage type.
 */
public final class TorchFile implements WeightFile {
    /** data.pkl of real checkpoints is kilobytes to a few megabytes; more is not a state dict. */
    static final long MAX_PICKLE = 512L << 20;
    /** A LONG1-encoded magic number the legacy (pre-1.6) format writes as its first pickle. */
    private static final byte[] LEGACY_MAGIC = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c,
            0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};

    private final Path path;
    private final Arena arena;
    private final SequencedMap<String, Tensor> tensors;
    private final Map<String, String> skipped;
    private final Map<String, String> metadata;

    private TorchFile(Path path, Arena arena, SequencedMap<String, Tensor> tensors, Map<String, String> skipped,
                      Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.skipped = skipped;
        this.metadata = metadata;
    }

    public static TorchFile open(Path path) {
        String label = path.toString();
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            FileIdentity before = FileIdentity.of(path);
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                file = size == 0 ? MemorySegment.ofArray(new byte[0])
                        : MappedWeightFiles.mapReadOnly(ch, size, arena);
                MappedWeightFiles.mapped(path, file, before);
            } catch (NoSuchFileException e) {
                throw new VaeException(label + ": no such file");
            } catch (IOException e) {
                throw new VaeException(label + ": cannot read (" + e.getMessage() + ")", e);
            }
            checkMagic(file, label);
            TorchFile tf = load(path, label, arena, file);
            arena = null;
            return tf;
        } finally {
            if (arena != null) {
                arena.close();
            }
        }
    }

    private static void checkMagic(MemorySegment file, String label) {
        byte[] head = file.asSlice(0, Math.min(file.byteSize(), LEGACY_MAGIC.length)).toArray(ValueLayout.JAVA_BYTE);
        if (head.length >= 4 && head[0] == 'P' && head[1] == 'K'
                && (head[2] == 3 && head[3] == 4 || head[2] == 5 && head[3] == 6)) {
            return;
        }
        // Legacy files open with the magic number pickle; any other bare pickle is the same family of format.
        if (head.length >= 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5) {
            boolean magic = head.length == LEGACY_MAGIC.length && java.util.Arrays.equals(head, LEGACY_MAGIC);
            throw new VaeException(label + ": unsupported legacy PyTorch format" + (magic ? "" : " (a bare pickle)")
                    + "; re-save it with torch>=1.6 (torch.save(..., _use_new_zipfile_serialization=True))");
        }
        throw new VaeException(label + ": not a PyTorch checkpoint (neither a zip archive nor a pickle)");
    }

    private static TorchFile load(Path path, String label, Arena arena, MemorySegment file) {
        ZipIndex zip = ZipIndex.read(file, label);
        EntryReader reader = new EntryReader(file, arena, label);
        String prefix = prefix(zip, label);
        ZipIndex.Entry order = zip.get(prefix + "byteorder");
        if (order != null && !new String(bytes(reader.read(order), 16, label), StandardCharsets.US_ASCII).strip()
                .equals("little")) {
            throw new VaeException(label + ": big-endian PyTorch archives are not supported");
        }
        Object root = Unpickler.load(bytes(reader.read(zip.get(prefix + "data.pkl")), MAX_PICKLE, label), label);
        if (!(root instanceof PDict top)) {
            throw new VaeException(label + ": holds a pickled " + Pickled.typeName(root)
                    + ", not a state dict of tensors");
        }
        PDict dict = top.map.get("state_dict") instanceof PDict sd ? sd : top;

        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        Map<String, MemorySegment> storages = new HashMap<>();
        StridedTensors.CopyBudget budget = new StridedTensors.CopyBudget(
                () -> file.byteSize() + reader.inflatedTotal());
        for (Map.Entry<Object, Object> kv : dict.map.entrySet()) {
            if (!(kv.getKey() instanceof String name) || !(kv.getValue() instanceof TensorRef ref)) {
                if (kv.getKey() instanceof String name) {
                    skipped.put(name, "not a tensor (" + Pickled.typeName(kv.getValue()) + ")");
                }
                continue;
            }
            DType dtype = dtype(ref.storage());
            if (dtype == null) {
                skipped.put(name, "unsupported storage type " + ref.storage().type().qualified());
                continue;
            }
            MemorySegment storage = storages.computeIfAbsent(ref.storage().key(),
                    k -> storage(zip, reader, prefix, ref.storage(), dtype, label));
            String what = label + ": tensor '" + Unpickler.printable(name) + "'";
            tensors.put(name, StridedTensors.build(ref, dtype, storage, arena, budget, what));
        }
        if (tensors.isEmpty()) {
            String unsupported = skipped.values().stream().filter(s -> s.startsWith("unsupported")).findFirst()
                    .orElse(null);
            if (unsupported != null) {
                throw new VaeException(label + ": no float tensors: " + unsupported);
            }
            StringJoiner keys = new StringJoiner(", ");
            top.map.keySet().stream().limit(10).forEach(k -> keys.add(Unpickler.printable(String.valueOf(k))));
            throw new VaeException(label + ": no tensors found (top-level keys: " + keys + ")");
        }
        return new TorchFile(path, arena, Collections.unmodifiableSequencedMap(tensors),
                Collections.unmodifiableMap(skipped), scalars(top));
    }

    /** torch names every entry {@code <archive>/...} after the first entry's folder, whatever that is called. */
    private static String prefix(ZipIndex zip, String label) {
        if (zip.entries().isEmpty()) {
            throw new VaeException(label + ": empty zip archive, not a PyTorch checkpoint");
        }
        String first = zip.entries().getFirst().name();
        int slash = first.indexOf('/');
        String prefix = slash < 0 ? "" : first.substring(0, slash + 1);
        if (zip.get(prefix + "constants.pkl") != null) {
            // TorchScript archives (OpenAI's consistency decoder.pt among them) hold module code, which we do not
            // run; their data.pkl pickles that code's classes, not a state dict.
            throw new VaeException(label + ": a TorchScript archive (torch.jit.save), whose module code vae4j does not"
                    + " execute; use a state_dict saved with torch.save, or the model's diffusers folder (for OpenAI's"
                    + " consistency decoder: openai/consistency-decoder)");
        }
        if (zip.get(prefix + "data.pkl") == null) {
            throw new VaeException(label + ": zip archive without " + prefix + "data.pkl, not a PyTorch checkpoint");
        }
        return prefix;
    }

    private static MemorySegment storage(ZipIndex zip, EntryReader reader, String prefix, StorageRef ref,
                                         DType dtype, String label) {
        ZipIndex.Entry e = zip.get(prefix + "data/" + ref.key());
        if (e == null) {
            throw new VaeException(label + ": storage '" + Unpickler.printable(ref.key()) + "' is missing (no entry "
                    + Unpickler.printable(prefix + "data/" + ref.key()) + ")");
        }
        long need;
        try {
            need = Math.multiplyExact(ref.numel(), dtype.bytes);
        } catch (ArithmeticException x) {
            throw new VaeException(label + ": storage '" + Unpickler.printable(ref.key()) + "' declares "
                    + ref.numel() + " elements");
        }
        if (e.size() < need) {
            throw new VaeException(label + ": storage '" + Unpickler.printable(ref.key()) + "' declares "
                    + ref.numel() + " " + dtype + " elements but its entry holds only " + e.size() + " bytes");
        }
        return reader.read(e).asSlice(0, need);
    }

    private static DType dtype(StorageRef ref) {
        return switch (ref.type().name()) {
            case "FloatStorage" -> DType.F32;
            case "HalfStorage" -> DType.F16;
            case "BFloat16Storage" -> DType.BF16;
            default -> null;
        };
    }

    private static byte[] bytes(MemorySegment s, long max, String label) {
        if (s.byteSize() > max) {
            throw new VaeException(label + ": zip entry of " + s.byteSize() + " bytes where at most " + max
                    + " are expected");
        }
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    /** Lightning's epoch/global_step and similar scalars, as strings. */
    private static Map<String, String> scalars(PDict top) {
        Map<String, String> out = new LinkedHashMap<>();
        top.map.forEach((k, v) -> {
            if (k instanceof String key && (v instanceof Long || v instanceof BigInteger || v instanceof Double
                    || v instanceof Boolean || v instanceof String)) {
                out.put(key, String.valueOf(v));
            }
        });
        return Collections.unmodifiableMap(out);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public SequencedMap<String, Tensor> tensors() {
        return tensors;
    }

    /** State-dict entries left out of {@link #tensors()}, with the reason (e.g. an int64 storage). */
    public Map<String, String> skipped() {
        return skipped;
    }

    /** One tensor by name; an error that says why when it was skipped or does not exist. */
    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t != null) {
            return t;
        }
        String why = skipped.get(name);
        throw new VaeException(path + ": tensor '" + name + "' " + (why != null ? "cannot be used: " + why
                : "is not in the file"));
    }

    /** Top-level scalar entries of the checkpoint (e.g. epoch, global_step). */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
