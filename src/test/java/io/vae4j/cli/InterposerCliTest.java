package io.vae4j.cli;

import io.vae4j.format.latent.LatentFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ./vae4j interpose against the latent_interposer fixture (city96's InterposerModel, fx-to-xl shape, random
 * weights), on both backends and in every latent file format; info on an interposer; its bad inputs.
 */
class InterposerCliTest {
    private static final String CASE = "latent_interposer";

    @TempDir
    Path tmp;

    private static String p(Path path) {
        return path.toString();
    }

    private static void assertError(CliTest.Result r, String... fragments) {
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().startsWith("vae4j: error: "), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
        }
    }

    /** Every fixture test, .npy in and out, on the Vector API backend and its scalar twin. */
    @Test
    void matchesTheReferenceOnBothBackends() {
        Path dir = Fixtures.caseDir(CASE);
        Map<String, Object> manifest = Fixtures.manifest(dir);
        for (String backend : List.of("java", "scalar")) {
            for (Map<String, Object> test : Fixtures.tests(manifest)) {
                String name = (String) test.get("name");
                Path in = dir.resolve((String) Fixtures.section(test, "inputs").get("latent_in").get("file"));
                Path out = tmp.resolve(name + "." + backend + ".npy");
                CliTest.Result r = CliTest.run("interpose", "--model", p(dir.resolve("model.safetensors")),
                        "--latent", p(in), "--out", p(out), "--backend", backend, "--threads", "2", "--quiet");
                assertEquals(0, r.status(), r.err());
                try (Tensor got = Npy.read(out)) {
                    Fixtures.assertOutput(dir, test, "latent_out", got, "interpose " + name + " " + backend);
                }
            }
        }
    }

    /** A .latent and a .safetensors latent in, the same formats out: raw both ways, as the ComfyUI node. */
    @Test
    void readsAndWritesEveryLatentFormat() {
        Path dir = Fixtures.caseDir(CASE);
        Map<String, Object> test = Fixtures.tests(Fixtures.manifest(dir)).getFirst();
        for (String ext : List.of("latent", "safetensors")) {
            Path in = tmp.resolve("in." + ext);
            Path out = tmp.resolve("out." + ext);
            try (Tensor z = Fixtures.input(dir, test, "latent_in")) {
                LatentFiles.write(in, z);
            }
            CliTest.Result r = CliTest.run("interpose", "--model", p(dir.resolve("model.safetensors")),
                    "--latent", p(in), "--out", p(out), "--quiet");
            assertEquals(0, r.status(), r.err());
            try (LatentFiles.Latent got = LatentFiles.read(out)) {
                Fixtures.assertOutput(dir, test, "latent_out", got.tensor(), "interpose ." + ext);
            }
        }
    }

    /**
     * A file named as city96 names them says the direction: info shows it, and the output's metadata names the
     * target family (for ./vae4j preview).
     */
    @Test
    void aNamedFileGivesTheDirectionAndTheOutputFamily() throws Exception {
        Path dir = Fixtures.caseDir(CASE);
        Path named = Files.copy(dir.resolve("model.safetensors"), tmp.resolve("fx-to-xl_interposer-v4.0.safetensors"));
        CliTest.Result info = CliTest.run("info", p(named));
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains("fx-to-xl: raw 16-channel latents in, raw 4-channel latents out"), info.out());
        Path out = tmp.resolve("xl.latent");
        CliTest.Result r = CliTest.run("interpose", "--model", p(named), "--latent",
                p(dir.resolve("convert_8x8.latent_in.npy")), "--out", p(out), "--quiet");
        assertEquals(0, r.status(), r.err());
        assertEquals("sdxl", LatentFiles.metadata(out).get(LatentFiles.FAMILY_KEY));
    }

    @Test
    void infoDescribesTheArchitecture() {
        Path dir = Fixtures.caseDir(CASE);
        CliTest.Result r = CliTest.run("info", p(dir.resolve("model.safetensors")));
        assertEquals(0, r.status(), r.err());
        Map<?, ?> counts = (Map<?, ?>) Fixtures.manifest(dir).get("num_params");
        long params = ((Number) counts.get("total")).longValue();
        assertTrue(r.out().contains("total " + String.format("%,d", params)), r.out());
        assertTrue(r.out().contains("16 -> 4 latent channels"), r.out());
        assertTrue(r.out().contains("3 residual blocks"), r.out());
        assertTrue(r.out().contains("v3/fx-to-v1/xl"), r.out());
    }

    @Test
    void theWrongChannelCountNamesWhatTheVariantExpects() {
        Path dir = Fixtures.caseDir(CASE);
        Path out = tmp.resolve("out.npy");
        CliTest.Result r = CliTest.run("interpose", "--model", p(dir.resolve("model.safetensors")), "--latent",
                p(dir.resolve("convert_8x8.latent_out.npy")), "--out", p(out));
        assertError(r, "convert_8x8.latent_out.npy", "4-channel latent", "expects 16 channels",
                "SD3/FLUX.1 latents");
        assertFalse(Files.exists(out));
    }

    @Test
    void anInterposerIsNotAVaeNorAVaeAnInterposer() {
        Path dir = Fixtures.caseDir(CASE);
        CliTest.Result decode = CliTest.run("decode", "--model", p(dir.resolve("model.safetensors")), "--latent",
                p(dir.resolve("convert_8x8.latent_out.npy")), "--out", p(tmp.resolve("x.png")));
        assertError(decode, "a latent interposer", "./vae4j interpose");
        Path taesd = Fixtures.caseDir("taesd_random").resolve("taesd_decoder.pth");
        CliTest.Result interpose = CliTest.run("interpose", "--model", p(taesd), "--latent",
                p(dir.resolve("convert_8x8.latent_in.npy")), "--out", p(tmp.resolve("x.npy")));
        assertError(interpose, "not a latent interposer");
    }
}
