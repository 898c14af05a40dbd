package io.vae4j.server;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.cli.CliRunner;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.vae4j.server.ServerTest.assertHeader;
import static io.vae4j.server.ServerTest.assertSameImage;
import static io.vae4j.server.ServerTest.f32;
import static io.vae4j.server.ServerTest.floats;
import static io.vae4j.server.ServerTest.maxDiff;
import static io.vae4j.server.ServerTest.pixels;
import static io.vae4j.server.ServerTest.post;
import static io.vae4j.server.ServerTest.shapeQuery;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A latent whose untiled decode does not fit the per-request budget runs as the CLI runs it under the same
 * budget (here exact: the whole image, large activations in scratch files), streaming its PNG to the socket.
 */
class ServerTilingTest {
    @TempDir
    static Path dir;
    static VectorBackend backend;
    static VaeServer server;
    static Path model;
    static final List<String> log = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() {
        backend = new VectorBackend(2);
        model = TestModels.kl(dir, 4);
        server = VaeServer.start(new ServerConfig("127.0.0.1", 0, 1, 2, 40L << 20, Duration.ofSeconds(120),
                Duration.ofSeconds(5), 4096L * 4096, dir, false), log::add);
        server.ready(List.of(new ServedModel("kl", ModelLoader.load(model, backend, null), null)));
    }

    @AfterAll
    static void stop() {
        server.close();
        backend.close();
    }

    @Test
    void overBudgetDecodesRunExactLikeTheCli() throws IOException {
        try (Tensor z = TestModels.random(31, 2f, 1, 4, 48, 64)) {
            Path latent = dir.resolve("big.npy");
            Npy.write(latent, z);
            Path png = dir.resolve("cli.png"), npy = dir.resolve("untiled.npy");
            CliRunner.Result cli = CliRunner.run("decode", "--model", model.toString(), "--latent", latent.toString(),
                    "--out", png.toString(), "--raw", "--memory", "40m", "--scratch", dir.toString(), "--threads", "2");
            assertEquals(0, cli.status(), cli.err());
            cli = CliRunner.run("decode", "--model", model.toString(), "--latent", latent.toString(), "--out",
                    npy.toString(), "--raw", "--quiet", "--threads", "2");
            assertEquals(0, cli.status(), cli.err());

            log.clear();
            String q = shapeQuery(1, 4, 48, 64) + "&dtype=float32";
            HttpResponse<byte[]> r = post(server, "/decode?output_type=pil&image_format=png" + q, f32(z));
            assertEquals(200, r.statusCode(), new String(r.body()));
            assertHeader(r, "content-type", "image/png");
            assertTrue(log.stream().anyMatch(l -> l.startsWith("exact decode 512x384")), log.toString());
            assertSameImage(pixels(ImageIO.read(png.toFile())), pixels(ImageIO.read(new ByteArrayInputStream(r.body()))));

            // A tensor response collects the exact run's strips: the untiled decode up to float noise.
            r = post(server, "/decode?output_type=pt" + q, f32(z));
            assertEquals(200, r.statusCode(), new String(r.body()));
            try (Tensor untiled = Npy.read(npy)) {
                // Within the decoder's run-to-run noise (kernels compiled or not yet; the conformance tolerance).
                float d = maxDiff(untiled.toFloatArray(), floats(r.body()));
                assertTrue(d <= 5e-5f, "exact against untiled: " + d);
            }
        }
    }
}
