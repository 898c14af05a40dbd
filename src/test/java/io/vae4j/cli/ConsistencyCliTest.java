package io.vae4j.cli;

import io.vae4j.backend.Random4;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Fixtures;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLI on the consistency decoder (diffusers ConsistencyDecoderVAE folder): every fixture test within its
 * tolerance on the Vector API and scalar backends (decodes with the reference's recorded noise), seeded decodes,
 * info, and the errors of --seed and --noise.
 */
class ConsistencyCliTest {
    @TempDir
    Path tmp;

    private static String p(Path path) {
        return path.toString();
    }

    private static Path model() {
        return Fixtures.caseDir("consistency_decoder").resolve("diffusers");
    }

    private static void assertFails(CliTest.Result r, String... fragments) {
        assertEquals(1, r.status(), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "scalar"})
    void everyFixtureTestWithinTolerance(String backend) {
        Path dir = Fixtures.caseDir("consistency_decoder");
        for (Map<String, Object> test : Fixtures.tests(Fixtures.manifest(dir))) {
            String name = (String) test.get("name");
            Map<String, Map<String, Object>> inputs = Fixtures.section(test, "inputs");
            Path out = tmp.resolve(backend + "." + name + ".npy");
            List<String> args = new ArrayList<>();
            if ("decode_consistency".equals(test.get("op"))) {
                args.addAll(List.of("decode", "--model", p(model()), "--latent", input(dir, inputs, "z"), "--raw",
                        "--noise", input(dir, inputs, "noise_0"), "--noise", input(dir, inputs, "noise_1")));
            } else {
                args.addAll(List.of("encode", "--model", p(model()), "--image", input(dir, inputs, "image"),
                        "--moments"));
            }
            args.addAll(List.of("--out", p(out), "--backend", backend, "--threads", "2", "--quiet"));
            CliTest.Result r = CliTest.run(args.toArray(String[]::new));
            assertEquals(0, r.status(), name + ": " + r.err());
            try (Tensor got = Npy.read(out)) {
                if ("encode".equals(test.get("op"))) {
                    Fixtures.assertOutput(dir, test, "moments", got, backend + " cli " + name);
                } else {
                    Fixtures.assertOutput(dir, test, "image", got, backend + " cli " + name);
                }
            }
        }
    }

    private static String input(Path dir, Map<String, Map<String, Object>> inputs, String name) {
        return p(dir.resolve((String) inputs.get(name).get("file")));
    }

    /**
     * Seeded decodes, on the scalar backend, whose kernels give the same bits however warm the JVM is (the Vector
     * API's lane reductions may round differently once compiled, so repeated runs inside one JVM can differ in the
     * last bits there; separate processes agree). A 2x2 crop of the fixture latent keeps it quick.
     */
    @Test
    void aSeedGivesTheSameImageEveryTimeAndAnotherSeedAnother() {
        Path z = tmp.resolve("z.npy");
        try (Tensor full = Npy.read(Fixtures.caseDir("consistency_decoder").resolve("decode_8x8.z.npy"));
             Tensor crop = io.vae4j.tensor.Tensors.crop(full, 3, 2, 2, 2)) {
            Npy.write(z, crop);
        }
        Path[] outs = {tmp.resolve("a.npy"), tmp.resolve("b.npy"), tmp.resolve("c.npy"), tmp.resolve("d.npy"),
            tmp.resolve("e.npy")};
        String[][] seeds = {{"--seed", "7"}, {"--seed", "7"}, {"--seed", "8"}, {}, {"--seed", "0"}};
        for (int i = 0; i < outs.length; i++) {
            List<String> args = new ArrayList<>(List.of("decode", "--model", p(model()), "--latent", p(z), "--raw",
                    "--out", p(outs[i]), "--backend", "scalar", "--quiet"));
            args.addAll(List.of(seeds[i]));
            CliTest.Result r = CliTest.run(args.toArray(String[]::new));
            assertEquals(0, r.status(), r.err());
        }
        try (Tensor a = Npy.read(outs[0]); Tensor b = Npy.read(outs[1]); Tensor c = Npy.read(outs[2]);
             Tensor d = Npy.read(outs[3]); Tensor e = Npy.read(outs[4])) {
            assertEquals(0f, Random4.maxAbsDiff(a, b), "same seed, same image");
            assertTrue(Random4.maxAbsDiff(a, c) > 1e-3f, "another seed, another image");
            assertEquals(0f, Random4.maxAbsDiff(d, e), "no seed is seed 0");
        }
        CliTest.Result png = CliTest.run("decode", "--model", p(model()), "--latent", p(z), "--out",
                p(tmp.resolve("x.png")), "--seed", "3");
        assertEquals(0, png.status(), png.err());
        assertTrue(Files.isRegularFile(tmp.resolve("x.png")));
    }

    @Test
    void infoDescribesTheArchitecture() {
        CliTest.Result r = CliTest.run("info", p(model()));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("architecture:  ConsistencyDecoderVAE: KL encoder (ch=32"), r.out());
        assertTrue(r.out().contains("consistency UNet decoder (block_out_channels=[32, 32, 32, 32]"
                + " layers_per_block=1"), r.out());
        assertTrue(r.out().contains("2 sampling steps at t=1008, 512"), r.out());
        assertTrue(r.out().contains("family:        sd1 (scale 0.18215; config.json)"), r.out());
        assertTrue(r.out().contains("decoder_unet") && r.out().contains("total 832,950"), r.out());
    }

    @Test
    void badNoiseAndSeedOptions() {
        Path dir = Fixtures.caseDir("consistency_decoder");
        String z = p(dir.resolve("decode_8x8.z.npy")), n0 = p(dir.resolve("decode_8x8.noise_0.npy"));
        String wrong = p(dir.resolve("decode_6x10.noise_1.npy")), out = p(tmp.resolve("x.npy"));
        assertFails(CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", out, "--noise", n0,
                "--noise", wrong), "decode_6x10.noise_1.npy", "shape [1, 3, 48, 80], expected [1, 3, 64, 64]");
        assertFails(CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", out, "--noise", n0),
                "1 file(s) given", "draws 2 noise tensors");
        assertFails(CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", out, "--noise", n0,
                "--noise", n0, "--noise", n0), "3 file(s) given");
        assertFails(CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", out, "--noise",
                p(tmp.resolve("missing.npy")), "--noise", n0), "missing.npy", "no such file");
        CliTest.Result both = CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", out, "--noise",
                n0, "--noise", n0, "--seed", "1");
        assertEquals(2, both.status(), both.err());
        assertTrue(both.err().contains("--seed and --noise exclude each other"), both.err());
        Path kl = Fixtures.caseDir("kl_f8_sd");
        for (String[] opt : new String[][]{{"--seed", "3"}, {"--noise", n0}}) {
            assertFails(CliTest.run("decode", "--model", p(kl.resolve("model.safetensors")), "--latent",
                    p(kl.resolve("decode_8x8.z.npy")), "--out", out, opt[0], opt[1]), opt[0],
                    "draws no noise", "consistency decoder");
        }
        assertFalse(Files.exists(tmp.resolve("x.npy")), "no output after an error");
    }

    /** The UNet sees the whole image: an over-budget decode is refused, not tiled. */
    @Test
    void overBudgetDecodeIsRefusedNotTiled() {
        String z = p(Fixtures.caseDir("consistency_decoder").resolve("decode_8x8.z.npy"));
        Path out = tmp.resolve("x.png");
        assertFails(CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", p(out), "--memory", "1m"),
                "ConsistencyDecoderVAE decodes the whole image at once and does not tile", "--memory");
        assertFails(CliTest.run("decode", "--model", p(model()), "--latent", z, "--out", p(out), "--tiling",
                "fast"), "does not tile");
        assertFalse(Files.exists(out));
    }

    /** OpenAI's decoder.pt is a TorchScript archive: refused in one line that names the layout to use. */
    @Test
    void torchScriptArchiveIsNamed() throws java.io.IOException {
        Path pt = tmp.resolve("decoder.pt");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(pt))) {
            for (String entry : new String[]{"decoder/data.pkl", "decoder/constants.pkl",
                "decoder/code/__torch__/model.py", "decoder/version"}) {
                zip.putNextEntry(new java.util.zip.ZipEntry(entry));
                zip.write(entry.endsWith(".py") ? "class Model(Module): pass\n".getBytes() : new byte[]{(byte) 0x80, 2,
                    ']', '.'});
                zip.closeEntry();
            }
        }
        for (CliTest.Result r : List.of(CliTest.run("info", p(pt)), CliTest.run("decode", "--model", p(pt),
                "--latent", p(Fixtures.caseDir("consistency_decoder").resolve("decode_8x8.z.npy")), "--out",
                p(tmp.resolve("x.npy"))))) {
            assertFails(r, "decoder.pt", "TorchScript archive", "does not execute", "diffusers");
        }
    }
}
