package io.vae4j.server;

import io.vae4j.VaeException;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.cli.CliRunner;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static io.vae4j.server.ServerTest.assertJsonError;
import static io.vae4j.server.ServerTest.f32;
import static io.vae4j.server.ServerTest.post;
import static io.vae4j.server.ServerTest.send;
import static io.vae4j.server.ServerTest.shapeQuery;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every class of bad request gets its status and a one-line JSON error, never a stack trace, and the server goes
 * on serving. Limits here: 256x256 pixels per image, a 64 MiB budget with two requests computing (32 MiB each).
 */
class ServerErrorTest {
    @TempDir
    static Path dir;
    static VectorBackend backend;
    static VaeServer server;
    static byte[] goodLatent;

    @BeforeAll
    static void start() {
        backend = new VectorBackend(2);
        server = VaeServer.start(new ServerConfig("127.0.0.1", 0, 2, 2, 64L << 20, Duration.ofSeconds(60),
                Duration.ofSeconds(5), 256L * 256, dir, false), line -> { });
        Path decoderOnly = TestModels.taesd(dir);
        server.ready(List.of(new ServedModel("kl", ModelLoader.load(TestModels.kl(dir, 4), backend, null), null),
                new ServedModel("taesd", ModelLoader.load(decoderOnly, backend, null), null)));
        try (Tensor z = TestModels.random(1, 1f, 1, 4, 8, 8)) {
            goodLatent = f32(z);
        }
    }

    @AfterAll
    static void stop() {
        server.close();
        backend.close();
    }

    private static final String PT = "?output_type=pt&dtype=float32";
    private static final String GOOD = PT + "&shape=1&shape=4&shape=8&shape=8";

    private static HttpResponse<byte[]> decode(String query, byte[] body) {
        return post(server, "/decode" + query, body);
    }

    private static void assertStillServes() {
        HttpResponse<byte[]> r = decode(GOOD, goodLatent);
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals(3 * 64 * 64 * 4, r.body().length);
    }

    @Test
    void badRoutesAndMethods() {
        HttpResponse<byte[]> r = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/decode")).GET().build());
        assertJsonError(r, 405, "not allowed");
        assertEquals("POST", r.headers().firstValue("allow").orElse(null));
        assertJsonError(post(server, "/v1/models", new byte[0]), 405, "not allowed");
        assertJsonError(post(server, "/nope", goodLatent), 404, "no route");
        assertJsonError(post(server, "/models/missing/decode" + GOOD, goodLatent), 404, "no model 'missing'");
        assertJsonError(decode(GOOD + "&model=missing", goodLatent), 404, "no model 'missing'");
        assertStillServes();
    }

    @Test
    void badDecodeQueriesAre400() {
        String[][] cases = {
                {PT, "'shape' is missing"},
                {PT + "&shape=1&shape=four&shape=8&shape=8", "'shape' must be positive integers"},
                {PT + "&shape=1&shape=4&shape=0&shape=8", "'shape' must be positive integers"},
                {"?output_type=pt&dtype=int64" + shapeQuery(1, 4, 8, 8), "'dtype' must be"},
                {PT + shapeQuery(1, 16, 8, 8), "latent has 16 channels, but model 'kl' expects 4"},
                {PT + shapeQuery(1, 4, 2, 8, 8), "video latent"},
                {PT + shapeQuery(4, 8, 8), "needs the height and width"},
                {PT + shapeQuery(1, 20, 16) + "&height=64&width=64", "does not match height 64"},
                {GOOD.replace("output_type=pt", "output_type=mp4"), "output_type 'mp4'"},
                {GOOD.replace("output_type=pt", "output_type=pil") + "&image_format=gif", "'image_format'"},
                {GOOD + "&partial_postprocess=maybe", "'partial_postprocess' must be True or False"},
                {GOOD + "&scaling_factor=abc", "'scaling_factor' must be a finite number"},
                {GOOD + "&scaling_factor=nan", "'scaling_factor' must be a finite number"},
                {GOOD + "&scaling_factor=0", "must not be 0"},
        };
        for (String[] c : cases) {
            HttpResponse<byte[]> r = decode(c[0], goodLatent);
            assertEquals(400, r.statusCode(), c[0]);
            assertJsonError(r, 400, c[1]);
        }
        assertStillServes();
    }

    @Test
    void badBodies() {
        assertJsonError(decode(GOOD, Arrays.copyOf(goodLatent, goodLatent.length - 4)), 400, "needs 1024");
        assertJsonError(decode(GOOD, new byte[0]), 400, "has 0 bytes");
        assertJsonError(decode(GOOD, Arrays.copyOf(goodLatent, goodLatent.length + 4)), 413, "larger than shape");
        try (Tensor z = TestModels.random(1, 1f, 1, 4, 8, 8)) {
            z.set(5, Float.NaN);
            z.set(6, Float.POSITIVE_INFINITY);
            assertJsonError(decode(GOOD, f32(z)), 400, "2 NaN or infinite");
        }
        assertStillServes();
    }

    @Test
    void oversizedRequestsAre413BeforeTheBodyIsRead() {
        // 40x40 latent: 320x320 pixels, over the 256x256 limit.
        assertJsonError(decode(PT + shapeQuery(1, 4, 40, 40), new byte[4 * 4 * 40 * 40]), 413, "over this server's");
        // A batch of 200 float32 images of 256x256 needs 300 MiB in memory: over the 32 MiB per request.
        assertJsonError(decode(PT + shapeQuery(200, 4, 32, 32), new byte[16]), 413, "per-request memory budget");
        assertStillServes();
    }

    @Test
    void badEncodeBodies() throws IOException {
        assertJsonError(post(server, "/encode", new byte[0]), 415, "empty");
        assertJsonError(post(server, "/encode", "hello".getBytes(StandardCharsets.UTF_8)), 415, "not an image");
        byte[] png = png(64, 64);
        byte[] corrupt = Arrays.copyOf(png, png.length / 2);
        assertJsonError(post(server, "/encode", corrupt), 400, "cannot read image request body");
        assertJsonError(post(server, "/encode", png(512, 256)), 413, "over this server's limit");
        assertJsonError(post(server, "/encode?dtype=float32" + shapeQuery(1, 4, 64, 64), new byte[16]), 400,
                "must be [N, 3, H, W]");
        assertJsonError(post(server, "/encode?dtype=float32" + shapeQuery(1, 3, 64, 64), new byte[16]), 400,
                "needs 49152");
        assertJsonError(post(server, "/encode?dtype=float32" + shapeQuery(1, 3, 4, 4), new byte[3 * 16 * 4]), 400,
                "too small");
        HttpResponse<byte[]> ok = post(server, "/encode", png);
        assertEquals(200, ok.statusCode(), new String(ok.body()));
        assertEquals("[1, 4, 8, 8]", ok.headers().firstValue("shape").orElse(null));
        assertStillServes();
    }

    @Test
    void malformedHttpGetsAJsonErrorAndTheServerGoesOn() throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write("BLAH / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String reply = new String(readSome(s.getInputStream()), StandardCharsets.US_ASCII);
            assertTrue(reply.startsWith("HTTP/1.1 4"), reply);
            assertTrue(!reply.contains("Exception") && !reply.contains("\tat "), reply);
        }
        assertStillServes();
    }

    @Test
    void aPortInUseAndBadServeOptionsAreOneLine() {
        VaeException e = assertThrows(VaeException.class, () -> VaeServer.start(new ServerConfig("127.0.0.1",
                server.port(), 1, 1, 1L << 30, Duration.ofSeconds(5), Duration.ofSeconds(1), 1L << 20, dir, false),
                line -> { }));
        assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + server.port()), e.getMessage());
        CliRunner.Result r = CliRunner.run("serve");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("missing --model"), r.err());
        r = CliRunner.run("serve", "--model", dir.resolve("nothing.safetensors").toString());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("no such file"), r.err());
        r = CliRunner.run("serve", "--model", "a b=x.safetensors");
        assertEquals(2, r.status(), r.err());
        r = CliRunner.run("serve", "--model", dir.resolve("taesd.safetensors").toString(), "--family", "other=sd1");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("no model named 'other'"), r.err());
    }

    private static byte[] readSome(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                b.write(buf, 0, n);
                if (b.toString(StandardCharsets.US_ASCII).contains("\r\n\r\n")) {
                    break;
                }
            }
        } catch (java.net.SocketTimeoutException e) {
            // what came is enough
        }
        return b.toByteArray();
    }

    static byte[] png(int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 4) << 16 | (y * 4) << 8 | (x + y) & 0xFF);
            }
        }
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(img, "png", b);
        return b.toByteArray();
    }
}
