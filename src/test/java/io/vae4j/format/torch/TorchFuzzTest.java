package io.vae4j.format.torch;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.fuzz.Hostile;

import java.nio.file.Path;

/**
 * PyTorch checkpoints from any bytes: the zip reader, entry inflation (bombs), the restricted unpickler and the
 * tensor table over the mapped archive. The unpickler has a target of its own so the fuzzer reaches its opcodes
 * directly rather than through a zip it must first get right.
 */
class TorchFuzzTest {
    private static final Path DIR = Hostile.dir("torch");

    @FuzzTest
    void archive(byte[] data) {
        Path file = Hostile.input(DIR, "model.pth", data);
        // Inflated entries are limited (EntryReader's total and ratio limits); data.pkl's objects are a bounded
        // multiple of its inflated size.
        Hostile.parse(data.length, 1024, 32L << 20, () -> TorchFile.open(file));
        Hostile.nothingBeside(file);
    }

    @FuzzTest
    void unpickler(byte[] data) {
        Hostile.parse(data.length, 1024, 1 << 20, () -> {
            Unpickler.load(data, "fuzz.pth");
            return null;
        });
    }
}
