package io.vae4j.format.torch;

import io.vae4j.VaeException;
import io.vae4j.format.torch.TestArchives.Pickle;
import io.vae4j.format.torch.TestArchives.Raw;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.vae4j.format.torch.TestArchives.dims;
import static io.vae4j.format.torch.TestArchives.entries;
import static io.vae4j.format.torch.TestArchives.floats;
import static io.vae4j.format.torch.TestArchives.zip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TorchFileTest {
    @TempDir
    Path dir;

    private static final byte[] SIX = floats(1, 2, 3, 4, 5, 6);

    private Path archive(byte[] pickle, Object... more) throws IOException {
        Object[] all = new Object[more.length + 2];
        all[0] = "archive/data.pkl";
        all[1] = pickle;
        System.arraycopy(more, 0, all, 2, more.length);
        return zip(dir, "model.pth", entries(all));
    }

    private VaeException refused(Path p) {
        VaeException e = assertThrows(VaeException.class, () -> TorchFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e;
    }

    private void assertRefused(Path p, String expected) {
        String msg = refused(p).getMessage();
        assertTrue(msg.contains(expected), () -> "expected '" + expected + "' in: " + msg);
    }

    // ---- well-formed files ----

    @Test
    void readsContiguousTransposedAndOffsetTensorsInOrder() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("b.weight", "FloatStorage", "0", 6, 0, dims(2, 3), dims(3, 1))
                .item("a.t", "FloatStorage", "0", 6, 0, dims(3, 2), dims(1, 3))
                .item("c.tail", "FloatStorage", "0", 6, 4, dims(2), dims(1))
                .item("d.scalar", "FloatStorage", "0", 6, 5, dims(), dims())
                .stop().bytes();
        try (TorchFile tf = TorchFile.open(archive(pkl, "archive/data/0", SIX, "archive/version", "3\n".getBytes()))) {
            assertEquals(List.of("b.weight", "a.t", "c.tail", "d.scalar"), List.copyOf(tf.tensors().keySet()));
            Tensor w = tf.tensor("b.weight");
            assertArrayEquals(new int[] {2, 3}, w.shape());
            assertEquals(DType.F32, w.dtype());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toFloatArray());
            Tensor t = tf.tensor("a.t");
            assertArrayEquals(new int[] {3, 2}, t.shape());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, t.toFloatArray());
            assertArrayEquals(new float[] {5, 6}, tf.tensor("c.tail").toFloatArray());
            assertEquals(6f, tf.tensor("d.scalar").get(0));
            assertEquals(0, tf.tensor("d.scalar").rank());
            assertEquals(tf.tensor("b.weight").data().address(), tf.tensor("c.tail").data().address() - 16,
                    "contiguous tensors are views of one mapped storage");
        }
    }

    @Test
    void misalignedStoredEntriesAreCopiedToAlignedMemory() throws IOException {
        // ZipOutputStream pads nothing: a pad entry of 0..3 bytes before the storage moves it off a float boundary.
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(6), dims(1)).stop().bytes();
        for (int pad = 0; pad < 4; pad++) {
            Files.deleteIfExists(dir.resolve("model.pth"));
            try (TorchFile tf = TorchFile.open(archive(pkl, "archive/pad", new byte[pad], "archive/data/0", SIX))) {
                Tensor w = tf.tensor("w");
                assertEquals(0, w.data().address() % Float.BYTES, "pad " + pad);
                assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toFloatArray());
            }
        }
    }

    @Test
    void readsLightningStateDictSkipsIntTensorsAndKeepsScalars() throws IOException {
        byte[] half = new byte[] {0x00, 0x3c, 0x00, 0x40}; // 1.0, 2.0 as float16
        byte[] bf = new byte[] {(byte) 0x80, 0x3f}; // 1.0 as bfloat16
        byte[] pkl = new Pickle().proto().op('}').mark()
                .str("state_dict").op('}')
                .item("model.h", "HalfStorage", "0", 2, 0, dims(2), dims(1))
                .item("model.b", "BFloat16Storage", "1", 1, 0, dims(1), dims(1))
                .item("model.position_ids", "LongStorage", "2", 2, 0, dims(1, 2), dims(2, 1))
                .str("model.step").integer(7).op('s')
                .str("epoch").integer(6).str("global_step").integer(470000)
                .op('u').stop().bytes();
        try (TorchFile tf = TorchFile.open(archive(pkl, "archive/data/0", half, "archive/data/1", bf,
                "archive/data/2", new byte[16]))) {
            assertEquals(List.of("model.h", "model.b"), List.copyOf(tf.tensors().keySet()));
            assertEquals(DType.F16, tf.tensor("model.h").dtype());
            assertArrayEquals(new float[] {1, 2}, tf.tensor("model.h").toFloatArray());
            assertEquals(DType.BF16, tf.tensor("model.b").dtype());
            assertEquals(1f, tf.tensor("model.b").get(0));
            assertEquals("unsupported storage type torch.LongStorage", tf.skipped().get("model.position_ids"));
            assertTrue(tf.skipped().get("model.step").startsWith("not a tensor"));
            VaeException e = assertThrows(VaeException.class, () -> tf.tensor("model.position_ids"));
            assertTrue(e.getMessage().contains("torch.LongStorage"), e.getMessage());
            assertEquals(Map.of("epoch", "6", "global_step", "470000"), tf.metadata());
        }
    }

    @Test
    void rebuildParameterAndStackGlobalAndMemo() throws IOException {
        // Protocol 4 style: SHORT_BINUNICODE + STACK_GLOBAL + MEMOIZE, Parameter wrapper around the tensor.
        Pickle p = new Pickle().op(0x80, 4).op(0x95).u32(0).u32(0);
        p.op(0x8c, 11).op("collections".getBytes()).op(0x8c, 11).op("OrderedDict".getBytes()).op(0x93, 0x94)
                .op(')').reduce().op(0x94);
        p.str("w").op(0x94);
        p.op(0x8c, 12).op("torch._utils".getBytes()).op(0x8c, 18).op("_rebuild_parameter".getBytes()).op(0x93);
        p.mark().tensor("FloatStorage", "0", 6, 0, dims(6), dims(1)).op(0x88).orderedDict().tuple().reduce();
        p.op('s');
        p.str("w2").op('h', 2).op('s'); // the same key object again via the memo, then a second SETITEM
        byte[] pkl = p.stop().bytes();
        // 'w2' maps to the string 'w' (memo 2), which is not a tensor: skipped, not fatal.
        try (TorchFile tf = TorchFile.open(archive(pkl, "archive/data/0", SIX))) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, tf.tensor("w").toFloatArray());
            assertEquals(List.of("w"), List.copyOf(tf.tensors().keySet()));
            assertTrue(tf.skipped().containsKey("w2"));
        }
    }

    @Test
    void inflatesDeflatedStorages() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(6), dims(1)).stop().bytes();
        Path p = zip(dir, "deflated.pt", entries("top/data.pkl", pkl, "top/data/0", SIX), "top/data.pkl",
                "top/data/0");
        try (TorchFile tf = TorchFile.open(p)) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, tf.tensor("w").toFloatArray());
        }
    }

    @Test
    void readsZip64Fields() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(6), dims(1)).stop().bytes();
        // Sizes saturated at 0xffffffff with the real values in the 0x0001 extra field, as for >4 GiB entries.
        Path p = TestArchives.rawZip(dir, "raw.pth", new Raw("a/data.pkl", pkl, false, -1, true),
                new Raw("a/data/0", SIX, true, -1, true));
        try (TorchFile tf = TorchFile.open(p)) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, tf.tensor("w").toFloatArray());
        }
    }

    // ---- hostile and broken files ----

    @Test
    void refusesCodeExecutionGlobals() throws IOException {
        Path marker = dir.resolve("pwned");
        String[][] globals = {{"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "getattr"},
                {"__builtin__", "exec"}, {"subprocess", "Popen"}, {"torch", "load"}, {"collections", "namedtuple"}};
        for (String[] g : globals) {
            byte[] pkl = new Pickle().proto().global(g[0], g[1]).mark().str("touch " + marker).tuple().reduce()
                    .stop().bytes();
            assertRefused(archive(pkl), "refusing pickle global '" + g[0] + "." + g[1]
                    + "' (only tensor state dicts are supported)");
        }
        // The same through STACK_GLOBAL, INST, and hidden inside an otherwise valid state dict.
        byte[] stackGlobal = new Pickle().proto().str("os").str("system").op(0x93).str("id").op(0x85).reduce()
                .stop().bytes();
        assertRefused(archive(stackGlobal), "refusing pickle global 'os.system'");
        byte[] inst = new Pickle().proto().mark().str("id").op('i').op("os\nsystem\n".getBytes()).stop().bytes();
        assertRefused(archive(inst), "refusing pickle global 'os.system'");
        byte[] hidden = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(6), dims(1))
                .str("evil").global("os", "system").str("id").op(0x85).reduce().op('s').stop().bytes();
        assertRefused(archive(hidden, "archive/data/0", SIX), "refusing pickle global 'os.system'");
        assertFalse(Files.exists(marker), "nothing may be executed");
    }

    /** Lightning checkpoints key their callbacks' state by class: naming a class is inert, only calling it is not. */
    @Test
    void namingAClassWithoutCallingItIsHarmless() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(6), dims(1))
                .global("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint").orderedDict().op('s')
                .stop().bytes();
        try (TorchFile f = TorchFile.open(archive(pkl, "archive/data/0", SIX))) {
            assertEquals(java.util.List.of("w"), java.util.List.copyOf(f.tensors().keySet()));
        }
    }

    @Test
    void refusesCallingAllowedNonCallablesAndBuildOnOtherObjects() throws IOException {
        byte[] callStorage = new Pickle().proto().global("torch", "FloatStorage").op(')').reduce().stop().bytes();
        assertRefused(archive(callStorage), "refusing to call a torch.FloatStorage");
        byte[] callDict = new Pickle().proto().op('}').op(')').reduce().stop().bytes();
        assertRefused(archive(callDict), "refusing to call a dict");
        byte[] build = new Pickle().proto().op(']').op('}').op('b').stop().bytes();
        assertRefused(archive(build), "refusing to set state on a list");
        byte[] newobj = new Pickle().proto().global("torch", "Size").op(')').op(0x81).stop().bytes();
        assertRefused(archive(newobj), "refusing to instantiate a torch.Size");
    }

    @Test
    void refusesUnsafeEntryNames() throws IOException {
        byte[] pkl = new Pickle().proto().op('}').stop().bytes();
        for (String evil : List.of("../evil", "archive/../../evil", "/etc/passwd", "archive\\evil", "C:/evil")) {
            Path p = zip(dir, "names.pth", entries("archive/data.pkl", pkl, evil, new byte[1]));
            assertRefused(p, "refusing unsafe zip entry name");
        }
    }

    @Test
    void refusesStorageShorterThanTensor() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 4, 0, dims(2, 4), dims(4, 1)).stop().bytes();
        assertRefused(archive(pkl, "archive/data/0", floats(1, 2, 3, 4)),
                "tensor 'w' needs 8 elements but its storage has 4");
        byte[] strided = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 1, dims(3, 2), dims(1, 3)).stop().bytes();
        assertRefused(archive(strided, "archive/data/0", SIX), "tensor 'w' needs 7 elements but its storage has 6");
        byte[] lies = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 100, 0, dims(6), dims(1)).stop().bytes();
        assertRefused(archive(lies, "archive/data/0", SIX), "declares 100 F32 elements but its entry holds only 24");
        byte[] missing = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "7", 6, 0, dims(6), dims(1)).stop().bytes();
        assertRefused(archive(missing, "archive/data/0", SIX), "storage '7' is missing");
    }

    @Test
    void boundsStridedCopies() throws IOException {
        // A small broadcast view (stride 0) is copied; a broadcast of 10^10 elements from 6 floats is refused.
        byte[] small = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 1, dims(2, 3), dims(0, 2)).stop().bytes();
        try (TorchFile tf = TorchFile.open(archive(small, "archive/data/0", SIX))) {
            assertArrayEquals(new float[] {2, 4, 6, 2, 4, 6}, tf.tensor("w").toFloatArray());
            assertFalse(tf.tensor("w").owned(), "copies live in the file's arena, freed by close()");
        }
        byte[] huge = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(100_000, 100_000), dims(0, 0)).stop().bytes();
        assertRefused(archive(huge, "archive/data/0", SIX), "needs a 40000000000-byte copy, more than the archive");
    }

    @Test
    void refusesDeepNesting() throws IOException {
        Pickle lists = new Pickle().proto();
        for (int i = 0; i < 100_000; i++) {
            lists.op(']');
        }
        for (int i = 0; i < 99_999; i++) {
            lists.op('a');
        }
        assertRefused(archive(lists.stop().bytes()), "nested deeper than 1000");
        Pickle marks = new Pickle().proto();
        for (int i = 0; i < 100_000; i++) {
            marks.op('(');
        }
        assertRefused(archive(marks.stop().bytes()), "MARKs nested deeper than 1000");
        Pickle tuples = new Pickle().proto().op(')');
        for (int i = 0; i < 100_000; i++) {
            tuples.op(0x85);
        }
        assertRefused(archive(tuples.stop().bytes()), "nested deeper than 1000");
    }

    @Test
    void survivesSelfReferenceAndRefusesBadMemoUse() throws IOException {
        // l = []; l.append(l): a cycle must not send anything into infinite recursion.
        byte[] cycle = new Pickle().proto().op(']', 'q', 0, 'h', 0, 'a').stop().bytes();
        assertRefused(archive(cycle), "holds a pickled list, not a state dict");
        byte[] huge = new Pickle().proto().op('N', 'r').u32(0xffffffffL).stop().bytes();
        assertRefused(archive(huge), "memo index 4294967295 exceeds the limit");
        byte[] undefined = new Pickle().proto().op('j').u32(12345).stop().bytes();
        assertRefused(archive(undefined), "memo index 12345 is not defined");
    }

    @Test
    void refusesMalformedPickles() throws IOException {
        assertRefused(archive(new Pickle().proto().op('}').bytes()), "ends without a STOP opcode");
        assertRefused(archive(new Pickle().proto().op('s').stop().bytes()), "stack underflow");
        assertRefused(archive(new Pickle().proto().op('X').u32(0x7fffffff).stop().bytes()), "truncated");
        assertRefused(archive(new Pickle().proto().op(0x8d).u32(-1).u32(-1).bytes()), "out of range");
        assertRefused(archive(new Pickle().proto().op('I').bytes()), "unsupported pickle opcode 0x49 ('I')");
        assertRefused(archive(new Pickle().op(0x80, 9).bytes()), "unsupported pickle protocol 9");
        assertRefused(archive(new Pickle().proto().op(']').stop().bytes()), "not a state dict");
        assertRefused(archive(new Pickle().proto().op('}').stop().bytes()), "no tensors found");
    }

    @Test
    void refusesZipBombs() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "FloatStorage", "0", 6, 0, dims(6), dims(1)).stop().bytes();
        byte[] zeros = new byte[4 << 20];
        // A declared size beyond the 16 GiB bound (needs ZIP64 to even say it).
        Path huge = TestArchives.rawZip(dir, "huge.pth", new Raw("a/data.pkl", pkl, false, -1),
                new Raw("a/data/0", zeros, true, 64L << 30));
        assertRefused(huge, "declares 68719476736 uncompressed bytes");
        // A declared size below the 16 GiB bound, but an absurd ratio.
        Path ratio = TestArchives.rawZip(dir, "ratio.pth", new Raw("a/data.pkl", pkl, false, -1),
                new Raw("a/data/0", floats(1, 2, 3, 4, 5, 6), true, 3L << 30));
        assertRefused(ratio, "compression ratio above 1000:1");
        // A header that under-declares: inflation stops at the declared size instead of writing past it.
        Path under = TestArchives.rawZip(dir, "under.pth", new Raw("a/data.pkl", pkl, false, -1),
                new Raw("a/data/0", zeros, true, 1000));
        assertRefused(under, "inflates to more than its declared 1000 bytes");
        // And the data.pkl itself deflated with a lie.
        Path pklBomb = TestArchives.rawZip(dir, "pkl.pth", new Raw("a/data.pkl", zeros, true, 100L << 30));
        assertRefused(pklBomb, "declares 107374182400 uncompressed bytes");
    }

    @Test
    void refusesLegacyAndForeignFiles() throws IOException {
        byte[] legacy = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9,
                0x20, 0x6a, (byte) 0xa8, 0x50, 0x19, 0x2e, (byte) 0x80, 0x02, 0x4d, (byte) 0xe9, 0x03, 0x2e};
        Path p = dir.resolve("legacy.pt");
        Files.write(p, legacy);
        VaeException e = refused(p);
        assertEquals(p + ": unsupported legacy PyTorch format; re-save it with torch>=1.6"
                + " (torch.save(..., _use_new_zipfile_serialization=True))", e.getMessage());
        Path png = dir.resolve("image.png");
        Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        assertRefused(png, "not a PyTorch checkpoint");
        Path empty = dir.resolve("empty.pt");
        Files.write(empty, new byte[0]);
        assertRefused(empty, "not a PyTorch checkpoint");
        assertRefused(dir.resolve("absent.pt"), "no such file");
        Path truncated = dir.resolve("truncated.pt");
        byte[] whole = Files.readAllBytes(archive(new Pickle().proto().op('}').stop().bytes()));
        Files.write(truncated, java.util.Arrays.copyOf(whole, whole.length - 30));
        assertRefused(truncated, "corrupt zip archive");
        Path noPkl = zip(dir, "nopkl.pt", entries("archive/other", new byte[3]));
        assertRefused(noPkl, "without archive/data.pkl");
    }

    @Test
    void refusesUnsupportedStorageWhenNothingElseIsThere() throws IOException {
        byte[] pkl = new Pickle().proto().orderedDict()
                .item("w", "DoubleStorage", "0", 3, 0, dims(3), dims(1)).stop().bytes();
        assertRefused(archive(pkl, "archive/data/0", new byte[24]), "unsupported storage type torch.DoubleStorage");
    }
}
