package example;

import io.vae4j.VaeModel;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library, used only through its facade from a separate build, decodes a latent to what the CLI writes for
 * the same latent (./vae4j, run here as a process).
 */
class LibraryAgainstCliTest {
    static final Path ROOT = Path.of(System.getProperty("vae4j.root", "../.."));

    /** A float32 little-endian .npy file's values (the CLI writes them). */
    static float[] npy(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = b.getShort(8) & 0xFFFF;
        String header = new String(b.array(), 10, headerLength, StandardCharsets.US_ASCII);
        assertTrue(header.contains("'<f4'"), header);
        b.position(10 + headerLength);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    static void cli(String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = ROOT.resolve("vae4j").toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
    }

    @Test
    void decodeRawEqualsTheCli(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path model = ROOT.resolve("models/taef2.safetensors");
        Path latent = tmp.resolve("z.npy"), image = tmp.resolve("image.npy");
        cli("encode", "--model", model.toString(), "--image", ROOT.resolve("examples/astronaut.png").toString(),
                "--out", latent.toString(), "--quiet");
        cli("decode", "--model", model.toString(), "--latent", latent.toString(), "--out", image.toString(), "--quiet");
        float[] z = npy(latent), want = npy(image);
        try (VaeModel vae = VaeModel.load(model)) {
            float[] got = vae.decodeRaw(z, 1, 24, 24);
            assertEquals(want.length, got.length);
            float worst = 0;
            for (int i = 0; i < got.length; i++) {
                // TAESD's image is [0, 1] in the CLI's .npy and [-1, 1] through the facade.
                worst = Math.max(worst, Math.abs((2 * want[i] - 1) - got[i]));
            }
            assertTrue(worst <= 5e-5f, "max abs diff " + worst);
        }
    }
}
