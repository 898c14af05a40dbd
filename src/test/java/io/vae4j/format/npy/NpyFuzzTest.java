package io.vae4j.format.npy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.fuzz.Hostile;

import java.nio.file.Path;

/** .npy headers and data (float latents, and the int64 arrays of the conformance fixtures), from any bytes. */
class NpyFuzzTest {
    private static final Path DIR = Hostile.dir("npy");

    @FuzzTest
    void read(byte[] data) {
        Path file = Hostile.input(DIR, "latent.npy", data);
        // The float32 tensor of an f2 file is twice the data; the header dict is small and bounded.
        Hostile.parse(data.length, 16, 1 << 20, () -> Npy.read(file));
        Hostile.parse(data.length, 16, 1 << 20, () -> {
            Npy.readInt64(file);
            return null;
        });
        Hostile.nothingBeside(file);
    }
}
