package io.vae4j.server;

import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.model.Family;
import io.vae4j.model.Flux2ModelsForTest;
import io.vae4j.model.ModelLoader;
import io.vae4j.pipeline.LatentMismatchTest;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import static io.vae4j.server.ServerTest.f32;
import static io.vae4j.server.ServerTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server on FLUX.2 (raw latents only, do_scaling refused) and its once-per-model latent mismatch warning. */
class ServerFamilyTest {
    @TempDir
    static Path dir;
    static VectorBackend backend;
    static VaeServer server;
    static final Queue<String> log = new ConcurrentLinkedQueue<>();

    @BeforeAll
    static void start() {
        backend = new VectorBackend(2);
        server = VaeServer.start(new ServerConfig("127.0.0.1", 0, 2, 2, 64L << 20, Duration.ofSeconds(60),
                Duration.ofSeconds(5), 256L * 256, dir, false), log::add);
        server.ready(List.of(
                new ServedModel("sd1", ModelLoader.load(TestModels.kl(dir, 4), backend, Family.SD1), Family.SD1),
                new ServedModel("flux2", ModelLoader.load(Flux2ModelsForTest.write(dir), backend, null), null)));
    }

    @AfterAll
    static void stop() {
        server.close();
        backend.close();
    }

    @Test
    void flux2TakesRawLatentsAndRefusesDoScaling() {
        byte[] body;
        try (Tensor z = TestModels.random(1, 1f, 1, 32, 4, 4)) {
            body = f32(z);
        }
        String q = "/models/flux2/decode?output_type=pt&dtype=float32&shape=1&shape=32&shape=4&shape=4";
        HttpResponse<byte[]> r = post(server, q, body);
        assertEquals(200, r.statusCode(), new String(r.body()));
        r = post(server, q + "&do_scaling=true", body);
        assertEquals(400, r.statusCode(), new String(r.body()));
        assertTrue(new String(r.body()).contains("FLUX.2 VAE") && new String(r.body()).contains("without do_scaling"),
                new String(r.body()));
    }

    @Test
    void mismatchIsLoggedOncePerModel() {
        String q = "/models/sd1/decode?output_type=pt&dtype=float32&do_scaling=true&shape=1&shape=4&shape=32"
                + "&shape=32";
        byte[] sdxl, sd1;
        try (Tensor a = LatentMismatchTest.latent(3, LatentMismatchTest.SDXL_MEAN, LatentMismatchTest.SDXL_STD, 32, 1);
             Tensor b = LatentMismatchTest.latent(4, LatentMismatchTest.SD1_MEAN, LatentMismatchTest.SD1_STD, 32, 1)) {
            sdxl = f32(a);
            sd1 = f32(b);
        }
        assertEquals(200, post(server, q, sd1).statusCode());
        assertEquals(0, warnings(), String.join("\n", log));
        for (int i = 0; i < 2; i++) {
            assertEquals(200, post(server, q, sdxl).statusCode());
        }
        assertEquals(1, warnings(), String.join("\n", log));
        assertTrue(log.stream().anyMatch(l -> l.startsWith("warning: model 'sd1': this latent looks like SDXL's")),
                String.join("\n", log));
    }

    private static long warnings() {
        return log.stream().filter(l -> l.contains("looks like")).count();
    }
}
