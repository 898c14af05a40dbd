package io.vae4j.cli;

import io.vae4j.format.MemoryWeights;
import io.vae4j.format.npy.Npy;
import io.vae4j.format.safetensors.SafetensorsFile;
import io.vae4j.model.RandomWeights;
import io.vae4j.model.kl.KlConfig;
import io.vae4j.model.kl.KlShapes;
import io.vae4j.pipeline.LatentMismatchTest;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** decode warns once when an SDXL latent goes to an SD1 VAE (and the other way), and not on a matching one. */
class LatentMismatchCliTest {
    @TempDir
    Path tmp;

    private Path model() {
        KlConfig c = new KlConfig(new int[]{32, 64}, 1, 4, 3, true, true, true, true, true, true);
        Path file = tmp.resolve("kl4.safetensors");
        try (MemoryWeights w = RandomWeights.of("kl4", KlShapes.of(c), 7)) {
            SafetensorsFile.write(file, w.tensors(), null);
        }
        return file;
    }

    private Path latent(String name, double[] mean, double[] std) {
        Path file = tmp.resolve(name);
        try (Tensor z = LatentMismatchTest.latent(3, mean, std, 32, 1)) {
            Npy.write(file, z);
        }
        return file;
    }

    /** Runs decode; its notes and warnings go to System.err (Main's err stream takes errors only), captured here. */
    private CliTest.Result decode(Path model, Path latent, String family) {
        PrintStream saved = System.err;
        ByteArrayOutputStream notes = new ByteArrayOutputStream();
        System.setErr(new PrintStream(notes, true, StandardCharsets.UTF_8));
        try {
            CliTest.Result r = CliTest.run("decode", "--model", model.toString(), "--latent", latent.toString(),
                    "--out", tmp.resolve("out.npy").toString(), "--family", family, "--quiet");
            return new CliTest.Result(r.status(), r.out(), r.err() + notes.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(saved);
        }
    }

    @Test
    void mismatchedLatentIsNamedOnce() {
        Path model = model();
        Path sdxl = latent("sdxl.npy", LatentMismatchTest.SDXL_MEAN, LatentMismatchTest.SDXL_STD);
        Path sd1 = latent("sd1.npy", LatentMismatchTest.SD1_MEAN, LatentMismatchTest.SD1_STD);

        CliTest.Result r = decode(model, sdxl, "sd1");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("vae4j: warning: " + sdxl + ": this latent looks like SDXL's, but the model"
                + " decodes SD1/SD2 latents (family sd1)"), r.err());
        assertEquals(1, r.err().split("looks like", -1).length - 1, r.err());

        r = decode(model, sd1, "sdxl");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("looks like SD1/SD2's") && r.err().contains("family sdxl"), r.err());

        for (String[] matched : new String[][]{{"sd1", sd1.toString()}, {"sdxl", sdxl.toString()}}) {
            r = decode(model, Path.of(matched[1]), matched[0]);
            assertEquals(0, r.status(), r.err());
            assertFalse(r.err().contains("warning"), r.err());
        }
    }
}
