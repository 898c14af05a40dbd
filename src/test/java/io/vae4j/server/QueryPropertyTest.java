package io.vae4j.server;

import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Whatever a client puts in the query, reading it either works or refuses with an HTTP status and a message: no
 * other exception (which would be a 500), however large, negative, malformed or many the values.
 */
class QueryPropertyTest {
    @TempDir
    static Path dir;
    static Model kl;
    static Model taesd;

    @BeforeAll
    static void load() {
        kl = ModelLoader.load(TestModels.kl(dir, 4), new ScalarBackend(), null);
        taesd = ModelLoader.load(TestModels.taesd(dir), new ScalarBackend(), null);
    }

    @AfterAll
    static void close() {
        kl.close();
        taesd.close();
    }

    private static final String[] KEYS = {"shape", "dtype", "output_type", "image_format", "partial_postprocess",
            "scaling_factor", "shift_factor", "do_scaling", "height", "width", "model", "x"};
    private static final String[] WORDS = {"", "None", "True", "False", "true", "1", "0", "-1", "pt", "pil", "png",
            "jpg", "jpeg", "mp4", "float16", "bfloat16", "float32", "uint8", "int64", "torch.float16", "NaN",
            "Infinity", "-Infinity", "1e309", "0.18215", "2147483647", "2147483648", "-2147483648",
            "9223372036854775807", "4", "16", "64", "8", "3", "[1, 4, 8, 8]", "1,4,8,8", "1,,4", "[", "]", "ü", " "};

    private static String value(SplittableRandom r) {
        return r.nextInt(4) == 0 ? Integer.toString(r.nextInt()) : WORDS[r.nextInt(WORDS.length)];
    }

    @Test
    void anyQueryIsReadOrRefusedWithAStatus() {
        RemoteVae remote = new RemoteVae(new ServerConfig("127.0.0.1", 0, 2, 2, 1L << 30, Duration.ofSeconds(5),
                Duration.ofSeconds(1), 4096L * 4096, dir, false), line -> { });
        SplittableRandom r = new SplittableRandom(20261207);
        int accepted = 0;
        for (int i = 0; i < 20_000; i++) {
            Map<String, List<String>> q = new HashMap<>();
            for (int k = r.nextInt(8); k > 0; k--) {
                q.computeIfAbsent(KEYS[r.nextInt(KEYS.length)], x -> new ArrayList<>()).add(value(r));
            }
            if (r.nextBoolean()) {
                List<String> shape = new ArrayList<>();
                for (int d = r.nextInt(7); d > 0; d--) {
                    shape.add(r.nextInt(3) == 0 ? value(r) : Integer.toString(1 + r.nextInt(r.nextBoolean() ? 8 : 1 << 20)));
                }
                q.put("shape", shape);
            }
            Query query = new Query(name -> q.getOrDefault(name, List.of()));
            ServedModel m = new ServedModel("m", r.nextBoolean() ? kl : taesd, null);
            try {
                RemoteVae.Prepared p = r.nextBoolean() ? remote.prepareDecode(query, r.nextBoolean() ? "image/png"
                        : null, m) : remote.prepareEncode(query, m);
                accepted++;
                p.checkDeclaredLength(r.nextBoolean() ? -1 : r.nextLong(1L << 40));
                p.checkBody(new byte[r.nextInt(64)]);
            } catch (HttpError e) {
                assertTrue(e.status >= 400 && e.status < 500, e.status + " " + e.getMessage());
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank() && !e.getMessage().contains("\n"),
                        "one line: " + e.getMessage());
            } catch (RuntimeException e) {
                fail("query " + q + " threw " + e);
            }
        }
        assertTrue(accepted > 100, accepted + " queries well formed");
    }
}
