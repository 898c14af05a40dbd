package io.vae4j.cli;

import io.vae4j.backend.Random4;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.format.latent.LatentFiles;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Flux2ModelsForTest;
import io.vae4j.model.LatentSpace;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** FLUX.2 through the CLI: encode writes patched, normalised latents, decode takes them, TAEF2 reads FLUX.2 .latent. */
class Flux2CliTest {
    @TempDir
    Path tmp;

    private static String p(Path path) {
        return path.toString();
    }

    private static Tensor random(long seed, float scale, int... shape) {
        Tensor t = Tensor.allocate(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < t.numel(); i++) {
            t.set(i, (float) (r.nextDouble() * 2 - 1) * scale);
        }
        return t;
    }

    private static void assertClose(Tensor want, Tensor got, float tolerance) {
        assertArrayEquals(want.shape(), got.shape());
        assertTrue(Random4.maxAbsDiff(want, got) <= tolerance, "diff " + Random4.maxAbsDiff(want, got));
    }

    @Test
    void encodeAndDecodeGoThroughTheNormalisation() {
        Path model = Flux2ModelsForTest.write(tmp);
        Path image = tmp.resolve("image.npy");
        try (Tensor t = random(1, 0.9f, 1, 3, 16, 16)) {
            Npy.write(image, t);
        }
        Path z = tmp.resolve("z.npy"), raw = tmp.resolve("raw.npy"), comfy = tmp.resolve("z.latent");
        for (Path out : new Path[]{z, raw, comfy}) {
            CliTest.Result r = CliTest.run("encode", "--model", p(model), "--image", p(image), "--out", p(out),
                    "--backend", "scalar", "--quiet", out == raw ? "--raw" : "--quiet");
            assertEquals(0, r.status(), r.err());
        }
        try (Model m = ModelLoader.load(model, new ScalarBackend(), null); Tensor diffusion = Npy.read(z);
             Tensor own = Npy.read(raw); var latent = LatentFiles.read(comfy)) {
            LatentSpace space = m.vae().latentSpace();
            assertArrayEquals(new int[]{1, 32, 8, 8}, own.shape());
            assertArrayEquals(new int[]{1, 128, 4, 4}, diffusion.shape());
            try (Tensor want = space.toDiffusion(own)) {
                assertClose(want, diffusion, 1e-5f);
                assertClose(want, latent.tensor(), 1e-5f);
            }
        }
        Path fromDiffusion = tmp.resolve("a.npy"), fromRaw = tmp.resolve("b.npy"), fromComfy = tmp.resolve("c.npy");
        CliTest.Result r = CliTest.run("decode", "--model", p(model), "--latent", p(z), "--out", p(fromDiffusion),
                "--backend", "scalar");
        assertEquals(0, r.status(), r.err());
        assertEquals(0, CliTest.run("decode", "--model", p(model), "--latent", p(raw), "--raw", "--out",
                p(fromRaw), "--backend", "scalar", "--quiet").status());
        assertEquals(0, CliTest.run("decode", "--model", p(model), "--latent", p(comfy), "--out", p(fromComfy),
                "--backend", "scalar", "--quiet").status());
        try (Tensor a = Npy.read(fromDiffusion); Tensor b = Npy.read(fromRaw); Tensor c = Npy.read(fromComfy)) {
            assertArrayEquals(new int[]{1, 3, 16, 16}, a.shape());
            assertClose(b, a, 1e-4f);
            assertClose(b, c, 1e-4f);
        }
    }

    @Test
    void familyAndBadShapesAreExplained() {
        Path model = Flux2ModelsForTest.write(tmp);
        CliTest.Result info = CliTest.run("info", p(model));
        assertEquals(0, info.status(), info.err());
        assertTrue(info.out().contains(
                "flux2 (2x2 patches normalised by the VAE's BatchNorm statistics; bn.* tensors)"), info.out());
        Path z32 = tmp.resolve("z32.npy");
        try (Tensor t = random(2, 1, 1, 32, 4, 4)) {
            Npy.write(z32, t);
        }
        CliTest.Result r = CliTest.run("decode", "--model", p(model), "--latent", p(z32), "--out",
                p(tmp.resolve("x.png")), "--backend", "scalar");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains(z32 + ": a FLUX.2 diffusion latent is [N, 128, h, w]")
                && r.err().contains("--raw"), r.err());
        Path odd = tmp.resolve("odd.npy");
        try (Tensor t = random(3, 0.5f, 1, 3, 18, 16)) {
            Npy.write(odd, t);
        }
        r = CliTest.run("encode", "--model", p(model), "--image", p(odd), "--out", p(tmp.resolve("o.npy")),
                "--backend", "scalar");
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("multiple of 16"), r.err());
    }

    /** A ComfyUI FLUX.2 .latent holds the patched latents; the embedded TAEF2 decodes them unpatched. */
    @Test
    void taef2DecodesFlux2ComfyLatents() {
        Path unpatched = tmp.resolve("z32.npy"), comfy = tmp.resolve("z.latent");
        try (Tensor z = random(4, 2, 1, 32, 6, 4)) {
            Npy.write(unpatched, z);
            try (Tensor patched = ModelLoader.parentSpace(32, io.vae4j.model.Family.FLUX2).toDiffusion(z)) {
                assertEquals(128, patched.dim(1));
                LatentFiles.write(comfy, patched);
            }
        }
        Path a = tmp.resolve("a.npy"), b = tmp.resolve("b.npy");
        assertEquals(0, CliTest.run("decode", "--latent", p(unpatched), "--out", p(a), "--quiet").status());
        CliTest.Result r = CliTest.run("decode", "--latent", p(comfy), "--out", p(b), "--quiet");
        assertEquals(0, r.status(), r.err());
        try (Tensor want = Npy.read(a); Tensor got = Npy.read(b)) {
            assertClose(want, got, 0f);
        }
        Path image = tmp.resolve("image.npy"), again = tmp.resolve("again.latent");
        try (Tensor t = random(5, 0.5f, 1, 3, 32, 32)) {
            for (long i = 0; i < t.numel(); i++) {
                t.set(i, t.get(i) + 0.5f);
            }
            Npy.write(image, t);
        }
        assertEquals(0, CliTest.run("encode", "--image", p(image), "--out", p(again), "--quiet").status());
        try (var latent = LatentFiles.read(again)) {
            assertEquals("[1, 128, 2, 2]", Arrays.toString(latent.tensor().shape()));
        }
    }
}
