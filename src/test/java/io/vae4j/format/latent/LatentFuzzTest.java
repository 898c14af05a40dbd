package io.vae4j.format.latent;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.fuzz.Hostile;

import java.nio.file.Path;

/** ComfyUI .latent files (safetensors holding latent_tensor and a version marker), from any bytes. */
class LatentFuzzTest {
    private static final Path DIR = Hostile.dir("latent");

    @FuzzTest
    void read(byte[] data) {
        Path file = Hostile.input(DIR, "image.latent", data);
        // The latent is copied to float32: at most twice a 16-bit file, plus the header's JSON tree.
        Hostile.parse(data.length, 64, 1 << 20, () -> LatentFiles.read(file));
        Hostile.nothingBeside(file);
    }
}
