package io.vae4j.server;

import io.vae4j.backend.Backend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.cli.CliRunner;
import io.vae4j.format.json.Json;
import io.vae4j.format.npy.Npy;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The server against a real listener on a loopback port and a real HTTP client: every route and output mode
 * against the CLI's result for the same input, and every class of bad request answered with its status and a
 * JSON error while the server keeps serving.
 */
class ServerTest {
    @TempDir
    static Path dir;
    static Path klFile, kl16File, taesdFile;
    static Backend backend;
    static VaeServer server;
    /**
     * How far two runs of one decoder on one input may differ here, relative to 1 + |value|: a few 1e-6 usually,
     * up to 1.5e-5 seen while the kernels are still being compiled (the Vector API's exp rounds differently
     * interpreted and compiled), well inside the decoders' conformance tolerance (5e-5). Any protocol mistake
     * (scaling, unpacking, range, byte order) moves values by orders of magnitude more.
     */
    static final float NOISE = 5e-5f;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() {
        klFile = TestModels.kl(dir, 4);
        kl16File = TestModels.kl(dir, 16);
        taesdFile = TestModels.taesd(dir);
        backend = new VectorBackend(2);
        server = start(new ServerConfig("127.0.0.1", 0, 2, 4, 1L << 30, Duration.ofSeconds(60),
                Duration.ofSeconds(5), 1024L * 1024, dir, false));
    }

    static VaeServer start(ServerConfig config) {
        VaeServer s = VaeServer.start(config, line -> { });
        s.ready(List.of(load("kl", klFile), load("kl16", kl16File), load("taesd", taesdFile)));
        return s;
    }

    private static ServedModel load(String name, Path file) {
        Model m = ModelLoader.load(file, backend, null);
        return new ServedModel(name, m, null);
    }

    @AfterAll
    static void stop() {
        server.close();
        backend.close();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Helpers

    static HttpResponse<byte[]> post(VaeServer s, String pathAndQuery, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + pathAndQuery))
                .timeout(Duration.ofSeconds(120)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b.build());
    }

    static HttpResponse<byte[]> get(VaeServer s, String path) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path)).GET().build());
    }

    static HttpResponse<byte[]> send(HttpRequest r) {
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static byte[] f32(Tensor t) {
        ByteBuffer b = ByteBuffer.allocate((int) t.numel() * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < t.numel(); i++) {
            b.putFloat(t.get(i));
        }
        return b.array();
    }

    static float[] floats(byte[] body) {
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[body.length / 4];
        for (int i = 0; i < f.length; i++) {
            f[i] = b.getFloat();
        }
        return f;
    }

    static String shapeQuery(int... shape) {
        StringBuilder sb = new StringBuilder();
        for (int d : shape) {
            sb.append("&shape=").append(d);
        }
        return sb.toString();
    }

    static Path npy(String name, Tensor t) {
        Path p = dir.resolve(name);
        Npy.write(p, t);
        return p;
    }

    /**
     * The largest difference relative to 1 + |want|: float noise between two runs of the same decoder (a batch
     * decoded at once against one by one sums in another order) stays near 1e-6 of the values.
     */
    static float maxDiff(float[] want, float[] got) {
        assertEquals(want.length, got.length);
        float m = 0;
        for (int i = 0; i < want.length; i++) {
            m = Math.max(m, Math.abs(want[i] - got[i]) / (1 + Math.abs(want[i])));
        }
        return m;
    }

    static float[] cliDecode(Path model, Path latent, String... extra) {
        try (Tensor t = Npy.read(cliDecodeTo("npy", model, latent, extra))) {
            return t.toFloatArray();
        }
    }

    static BufferedImage cliPng(Path model, Path latent, String... extra) throws IOException {
        return ImageIO.read(cliDecodeTo("png", model, latent, extra).toFile());
    }

    /** ./vae4j decode (in this JVM) of a latent file to a new file of this extension. */
    private static Path cliDecodeTo(String ext, Path model, Path latent, String... extra) {
        Path out = dir.resolve("cli-" + System.nanoTime() + "." + ext);
        List<String> args = new ArrayList<>(List.of("decode", "--model", model.toString(), "--latent",
                latent.toString(), "--out", out.toString(), "--quiet", "--threads", "2"));
        args.addAll(List.of(extra));
        CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        return out;
    }

    static void assertHeader(HttpResponse<?> r, String name, String value) {
        assertEquals(value, r.headers().firstValue(name).orElse(null), name);
    }

    static void assertJsonError(HttpResponse<byte[]> r, int status, String fragment) {
        String body = new String(r.body());
        assertEquals(status, r.statusCode(), body);
        assertHeader(r, "content-type", "application/json");
        Object parsed = Json.parse(body);
        assertTrue(parsed instanceof Map<?, ?> m && m.get("error") instanceof String e && e.contains(fragment),
                "expected '" + fragment + "' in " + body);
    }

    /**
     * Equal up to the decoder's run-to-run float noise (a few 1e-6; see the README's exact mode): a value that
     * lands on a rounding boundary may come out one level apart, nothing more, and rarely.
     */
    static void assertSameImage(int[] want, int[] got) {
        assertEquals(want.length, got.length);
        int off = 0;
        for (int p = 0; p < want.length; p++) {
            for (int shift = 0; shift < 24; shift += 8) {
                int d = Math.abs((want[p] >> shift & 0xFF) - (got[p] >> shift & 0xFF));
                assertTrue(d <= 1, "pixel " + p + ": " + Integer.toHexString(want[p]) + " vs " + Integer.toHexString(got[p]));
                off += d;
            }
        }
        assertTrue(off <= want.length * 3 / 1000, off + " samples one level apart");
    }

    static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Decode

    @Test
    void decodeTensorEqualsCliInEveryScalingMode() {
        try (Tensor z = TestModels.random(1, 3f, 1, 4, 8, 12)) {
            Path latent = npy("z.npy", z);
            byte[] body = f32(z);
            String q = "?dtype=float32&output_type=pt&partial_postprocess=False" + shapeQuery(1, 4, 8, 12);
            // diffusers' default: do_scaling=True without factors means the model family's (sd1: 0.18215).
            float[] scaled = cliDecode(klFile, latent);
            for (String scaling : new String[]{"&do_scaling=True", "&scaling_factor=0.18215"}) {
                HttpResponse<byte[]> r = post(server, "/decode" + q + scaling, body, "Content-Type", "tensor/binary");
                assertEquals(200, r.statusCode(), new String(r.body()));
                assertHeader(r, "content-type", "tensor/binary");
                assertHeader(r, "shape", "[1, 3, 64, 96]");
                assertHeader(r, "dtype", "float32");
                assertTrue(maxDiff(scaled, floats(r.body())) <= NOISE, scaling);
            }
            float[] raw = cliDecode(klFile, latent, "--raw");
            for (String scaling : new String[]{"", "&do_scaling=False"}) {
                HttpResponse<byte[]> r = post(server, "/decode" + q + scaling, body);
                assertEquals(200, r.statusCode());
                assertTrue(maxDiff(raw, floats(r.body())) <= NOISE, scaling);
            }
            // An explicit shift: z = x / scale + shift, computed here and decoded raw by the CLI.
            HttpResponse<byte[]> r = post(server, "/decode" + q + "&scaling_factor=1.5305&shift_factor=0.0609", body);
            assertEquals(200, r.statusCode());
            try (Tensor zr = Tensor.allocate(z.shape())) {
                for (long i = 0; i < z.numel(); i++) {
                    zr.set(i, (float) (z.get(i) / 1.5305 + 0.0609));
                }
                assertTrue(maxDiff(cliDecode(klFile, npy("zs.npy", zr), "--raw"), floats(r.body())) <= NOISE);
            }
        }
    }

    @Test
    void decodeBatchHalfAndBfloat16() {
        try (Tensor z = TestModels.random(2, 3f, 2, 4, 8, 8)) {
            float[] want = cliDecode(klFile, npy("zb.npy", z), "--raw");
            HttpResponse<byte[]> r = post(server, "/decode?dtype=float32&output_type=pt" + shapeQuery(2, 4, 8, 8),
                    f32(z));
            assertHeader(r, "shape", "[2, 3, 64, 64]");
            float diff = maxDiff(want, floats(r.body()));
            // The server decodes a batch latent by latent (each under the memory budget); the CLI decodes it whole,
            // whose kernels sum in another order: within the conformance tolerance of these decoders (5e-5).
            assertTrue(diff <= NOISE, "batch of 2 against the CLI: " + diff);
            for (WireDType d : new WireDType[]{WireDType.FLOAT16, WireDType.BFLOAT16}) {
                // The server decodes the latent as the dtype holds it and rounds its output to the same dtype.
                float[] rounded;
                try (Tensor zd = d.read(d.write(z), z.shape())) {
                    rounded = cliDecode(klFile, npy("zb" + d.id + ".npy", zd), "--raw");
                }
                r = post(server, "/decode?output_type=pt&dtype=" + d.id + shapeQuery(2, 4, 8, 8), d.write(z));
                assertEquals(200, r.statusCode(), new String(r.body()));
                assertHeader(r, "dtype", d.id);
                assertEquals(2 * 3 * 64 * 64 * 2, r.body().length);
                try (Tensor got = d.read(r.body(), new int[]{2, 3, 64, 64})) {
                    float[] g = got.toFloatArray();
                    float ulp = d == WireDType.FLOAT16 ? 1f / 1024 : 1f / 128;
                    for (int i = 0; i < g.length; i++) {
                        float tolerance = ulp * Math.abs(rounded[i]) + 5e-5f * (1 + Math.abs(rounded[i]));
                        assertTrue(Math.abs(g[i] - rounded[i]) <= tolerance,
                                d.id + " " + i + ": " + rounded[i] + " vs " + g[i]);
                    }
                }
            }
        }
    }

    @Test
    void decodeUint8PngAndJpegAreTheCliImage() throws IOException {
        try (Tensor z = TestModels.random(3, 3f, 1, 4, 8, 12)) {
            Path latent = npy("z8.npy", z);
            int[] want = pixels(cliPng(klFile, latent, "--raw"));
            String q = shapeQuery(1, 4, 8, 12) + "&dtype=float32";
            HttpResponse<byte[]> r = post(server, "/decode?output_type=pt&partial_postprocess=True" + q, f32(z));
            assertHeader(r, "shape", "[1, 64, 96, 3]");
            assertHeader(r, "dtype", "uint8");
            byte[] nhwc = r.body();
            int[] got = new int[want.length];
            for (int p = 0; p < want.length; p++) {
                got[p] = (nhwc[3 * p] & 0xFF) << 16 | (nhwc[3 * p + 1] & 0xFF) << 8 | nhwc[3 * p + 2] & 0xFF;
            }
            assertSameImage(want, got);
            r = post(server, "/decode?output_type=pil&image_format=png" + q, f32(z));
            assertHeader(r, "content-type", "image/png");
            assertSameImage(want, pixels(ImageIO.read(new ByteArrayInputStream(r.body()))));
            // diffusers' defaults: output_type=pil, image_format=jpg.
            r = post(server, "/decode?" + q.substring(1), f32(z), "Accept", "image/jpeg");
            assertHeader(r, "content-type", "image/jpeg");
            BufferedImage jpeg = ImageIO.read(new ByteArrayInputStream(r.body()));
            assertEquals(96, jpeg.getWidth());
            assertEquals(64, jpeg.getHeight());
            // The Accept header chooses when image_format is not given.
            r = post(server, "/?output_type=pil" + q, f32(z), "Accept", "image/png");
            assertHeader(r, "content-type", "image/png");
        }
    }

    @Test
    void packedFluxLatentDecodesAsItsUnpackedForm() {
        // diffusers packs [B, C, h, w] as [B, (h/2)(w/2), 4C]: packed[b][i·w/2 + j][c·4 + dy·2 + dx].
        int c = 16, h = 8, w = 12;
        try (Tensor z = TestModels.random(4, 2f, 1, c, h, w); Tensor packed = Tensor.allocate(1, h * w / 4, 4 * c)) {
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        packed.set((long) ((y / 2) * (w / 2) + x / 2) * 4 * c + ch * 4 + (y % 2) * 2 + x % 2,
                                z.get(((long) ch * h + y) * w + x));
                    }
                }
            }
            String q = "?output_type=pt&dtype=float32&model=kl16";
            HttpResponse<byte[]> flat = post(server, "/decode" + q + shapeQuery(1, c, h, w), f32(z));
            HttpResponse<byte[]> r = post(server, "/decode" + q + shapeQuery(1, h * w / 4, 4 * c)
                    + "&height=" + h * 8 + "&width=" + w * 8, f32(packed));
            assertEquals(200, r.statusCode(), new String(r.body()));
            assertHeader(r, "shape", "[1, 3, 64, 96]");
            // The same latent decoded twice: equal up to the decoder's run-to-run noise (kernels compiled or not yet);
            // a wrong unpacking would move whole pixels.
            assertTrue(maxDiff(floats(flat.body()), floats(r.body())) <= NOISE);
            // A 4-D latent with height and width (as ComfyUI's client sends) is not unpacked.
            r = post(server, "/decode" + q + shapeQuery(1, c, h, w) + "&height=64&width=96", f32(z));
            assertTrue(maxDiff(floats(flat.body()), floats(r.body())) <= NOISE);
            assertJsonError(post(server, "/decode" + q + shapeQuery(1, h * w / 4, 4 * c), f32(packed)), 400,
                    "height and width");
        }
    }

    @Test
    void modelsAreChosenByQueryOrPathAndTaesdFloatsAreMinusOneToOne() {
        try (Tensor z = TestModels.random(5, 2f, 1, 4, 8, 8)) {
            float[] cli = cliDecode(taesdFile, npy("zt.npy", z));
            String q = "?output_type=pt&dtype=float32" + shapeQuery(1, 4, 8, 8);
            HttpResponse<byte[]> byPath = post(server, "/models/taesd/decode" + q, f32(z));
            HttpResponse<byte[]> byQuery = post(server, "/decode" + q + "&model=taesd&do_scaling=True", f32(z));
            assertEquals(200, byPath.statusCode(), new String(byPath.body()));
            assertTrue(maxDiff(floats(byPath.body()), floats(byQuery.body())) <= NOISE);
            float[] got = floats(byPath.body());
            for (int i = 0; i < cli.length; i++) {
                cli[i] = 2 * cli[i] - 1;
            }
            assertTrue(maxDiff(cli, got) <= NOISE);
        }
    }

    @Test
    void listsModelsHealthAndMetrics() {
        HttpResponse<byte[]> r = get(server, "/v1/models");
        assertEquals(200, r.statusCode());
        Map<?, ?> list = (Map<?, ?>) Json.parse(new String(r.body()));
        List<?> data = (List<?>) list.get("data");
        assertEquals(3, data.size());
        Map<?, ?> first = (Map<?, ?>) data.getFirst();
        assertEquals("kl", first.get("name"));
        assertEquals(true, first.get("default"));
        assertEquals(4L, ((Number) first.get("latent_channels")).longValue());
        assertEquals(0.18215, ((Number) first.get("scaling_factor")).doubleValue());
        assertEquals(8L, ((Number) first.get("downscale")).longValue());
        assertEquals("taesd", ((Map<?, ?>) data.get(2)).get("family"));
        r = get(server, "/health");
        assertEquals(200, r.statusCode());
        assertEquals("Ok", new String(r.body()));
        String metrics = new String(get(server, "/metrics").body());
        for (String name : new String[]{"vae4j_requests_total{route=\"health\",model=\"\",status=\"200\"}",
                "# TYPE vae4j_request_duration_seconds histogram", "vae4j_queue_depth 0", "vae4j_in_flight",
                "vae4j_request_bytes_total", "vae4j_response_bytes_total"}) {
            assertTrue(metrics.contains(name), name + " in\n" + metrics);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Encode

    @Test
    void encodePngAndTensorEqualCliEncode() throws IOException {
        BufferedImage img = new BufferedImage(64, 96, BufferedImage.TYPE_3BYTE_BGR);
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(9);
        for (int y = 0; y < 96; y++) {
            for (int x = 0; x < 64; x++) {
                img.setRGB(x, y, rnd.nextInt(1 << 24));
            }
        }
        Path png = dir.resolve("in.png");
        ImageIO.write(img, "png", png.toFile());
        Path out = dir.resolve("enc.npy");
        CliRunner.Result cli = CliRunner.run("encode", "--model", klFile.toString(), "--image", png.toString(), "--out",
                out.toString(), "--quiet", "--threads", "2");
        assertEquals(0, cli.status(), cli.err());
        float[] want;
        try (Tensor t = Npy.read(out)) {
            want = t.toFloatArray();
        }
        // diffusers' remote_encode: PNG bytes, no Content-Type, the factors as query parameters.
        HttpResponse<byte[]> r = post(server, "/encode?scaling_factor=0.18215", Files.readAllBytes(png));
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertHeader(r, "shape", "[1, 4, 12, 8]");
        assertHeader(r, "dtype", "float32");
        assertTrue(maxDiff(want, floats(r.body())) <= NOISE);
        // The same pixels as a float tensor in [-1, 1], computed as the image reader does.
        try (Tensor t = Tensor.allocate(1, 3, 96, 64)) {
            for (int y = 0; y < 96; y++) {
                for (int x = 0; x < 64; x++) {
                    int rgb = img.getRGB(x, y);
                    for (int c = 0; c < 3; c++) {
                        int v = rgb >> (16 - 8 * c) & 0xFF;
                        t.set(((long) c * 96 + y) * 64 + x, 2f * ((float) v / 255f) - 1f);
                    }
                }
            }
            r = post(server, "/models/kl/encode?scaling_factor=0.18215&dtype=float32" + shapeQuery(1, 3, 96, 64),
                    f32(t));
            assertEquals(200, r.statusCode(), new String(r.body()));
            assertTrue(maxDiff(want, floats(r.body())) <= NOISE);
        }
        // Without factors the latent is raw.
        r = post(server, "/encode", Files.readAllBytes(png));
        float[] raw = floats(r.body());
        for (int i = 0; i < raw.length; i++) {
            raw[i] *= 0.18215f;
        }
        assertTrue(maxDiff(want, raw) <= NOISE);
    }
}
