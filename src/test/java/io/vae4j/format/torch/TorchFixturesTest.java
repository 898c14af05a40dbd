package io.vae4j.format.torch;

import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real torch.save files from the conformance suite, compared byte for byte to their safetensors twins. */
class TorchFixturesTest {

    /** Until a shared helper exists: VAE4J_CONFORMANCE (env or system property), else ../shared/conformance. */
    private static Path conformance(String relative) {
        String root = System.getProperty("VAE4J_CONFORMANCE", System.getenv("VAE4J_CONFORMANCE"));
        Path base = root != null ? Path.of(root)
                : Path.of(System.getProperty("user.dir")).resolve("../shared/conformance").normalize();
        Path p = base.resolve(relative);
        Assumptions.assumeTrue(Files.isRegularFile(p), "conformance fixture " + p + " not found; skipping");
        return p;
    }

    @Test
    void taef2DecoderMatchesSafetensors() throws IOException {
        compare("taef2/taef2_decoder.pth", "taef2/taef2_decoder.safetensors", "1.weight");
    }

    @Test
    void taef2EncoderMatchesSafetensors() throws IOException {
        compare("taef2/taef2_encoder.pth", "taef2/taef2_encoder.safetensors", "0.weight");
    }

    @Test
    void taesdRandomMatchesSafetensors() throws IOException {
        compare("taesd_random/taesd_decoder.pth", "taesd_random/taesd_decoder.safetensors", "1.weight");
        compare("taesd_random/taesd_encoder.pth", "taesd_random/taesd_encoder.safetensors", null);
    }

    @Test
    void lightningCheckpointMatchesSafetensors() throws IOException {
        Path ckpt = conformance("kl_f8_checkpoint/checkpoint.ckpt");
        Map<String, Header> expected = safetensors(conformance("kl_f8_checkpoint/checkpoint.safetensors"));
        try (TorchFile tf = TorchFile.open(ckpt)) {
            assertEquals("first_stage_model.encoder.conv_in.weight", tf.tensors().firstEntry().getKey());
            assertEquals(Map.of("global_step", "470000", "epoch", "6"), tf.metadata());
            int floats = 0;
            for (Map.Entry<String, Header> e : expected.entrySet()) {
                Header h = e.getValue();
                if (DType.parseSafetensors(h.dtype) == null) {
                    String why = tf.skipped().get(e.getKey());
                    assertNotNull(why, e.getKey() + " (" + h.dtype + ") should be skipped");
                    assertTrue(why.matches("unsupported storage type torch\\.(Long|Int)Storage"), why);
                } else {
                    floats++;
                    check(tf, e.getKey(), h);
                }
            }
            assertEquals(floats, tf.tensors().size());
            assertEquals(expected.size(), tf.tensors().size() + tf.skipped().size());
        }
    }

    @Test
    void reportsLoadTime() {
        Path p = conformance("taef2/taef2_decoder.pth");
        long first = 0;
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 20; i++) {
            long t0 = System.nanoTime();
            try (TorchFile tf = TorchFile.open(p)) {
                assertEquals(DType.F16, tf.tensor("1.weight").dtype());
            }
            long dt = System.nanoTime() - t0;
            if (i == 0) {
                first = dt;
            }
            best = Math.min(best, dt);
        }
        if (!Boolean.getBoolean("vae4j.quiet") || Boolean.getBoolean("vae4j.timing")) {
            System.out.printf("taef2_decoder.pth open: first %.1f ms, best of 20 %.2f ms%n", first / 1e6, best / 1e6);
        }
    }

    private void compare(String pth, String safetensors, String firstKey) throws IOException {
        Map<String, Header> expected = safetensors(conformance(safetensors));
        try (TorchFile tf = TorchFile.open(conformance(pth))) {
            if (firstKey != null) {
                assertEquals(firstKey, tf.tensors().firstEntry().getKey());
            }
            assertEquals(expected.keySet(), tf.tensors().keySet());
            assertTrue(tf.skipped().isEmpty(), tf.skipped().toString());
            for (Map.Entry<String, Header> e : expected.entrySet()) {
                check(tf, e.getKey(), e.getValue());
            }
        }
    }

    private static void check(TorchFile tf, String name, Header h) {
        Tensor t = tf.tensor(name);
        assertEquals(DType.parseSafetensors(h.dtype), t.dtype(), name);
        assertArrayEquals(h.shape, t.shape(), name);
        assertEquals(-1, t.data().mismatch(h.data), () -> name + " differs from the safetensors bytes");
    }

    private record Header(String dtype, int[] shape, MemorySegment data) {
    }

    /** Just enough safetensors to get each tensor's dtype, shape and bytes. */
    private static Map<String, Header> safetensors(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String json = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        MemorySegment body = MemorySegment.ofArray(all).asSlice(8 + n);
        Map<String, Header> out = new LinkedHashMap<>();
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) new Json(json).value();
        root.forEach((k, v) -> {
            if (k.equals("__metadata__")) {
                return;
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) v;
            List<?> shape = (List<?>) m.get("shape");
            List<?> off = (List<?>) m.get("data_offsets");
            long from = ((Number) off.get(0)).longValue();
            long to = ((Number) off.get(1)).longValue();
            out.put(k, new Header((String) m.get("dtype"),
                    shape.stream().mapToInt(d -> ((Number) d).intValue()).toArray(), body.asSlice(from, to - from)));
        });
        return out;
    }

    /** A throwaway JSON reader for trusted test fixtures: objects, arrays, strings, integers. */
    private static final class Json {
        private final String s;
        private int i;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            skip();
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                i++;
                skip();
                if (s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                while (true) {
                    skip();
                    String k = string();
                    skip();
                    i++; // ':'
                    m.put(k, value());
                    skip();
                    if (s.charAt(i++) == '}') {
                        return m;
                    }
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                i++;
                skip();
                if (s.charAt(i) == ']') {
                    i++;
                    return l;
                }
                while (true) {
                    l.add(value());
                    skip();
                    if (s.charAt(i++) == ']') {
                        return l;
                    }
                }
            }
            if (c == '"') {
                return string();
            }
            int start = i;
            while (i < s.length() && "-+.eE0123456789".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
            return Long.parseLong(s.substring(start, i));
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++; // opening quote
            while (s.charAt(i) != '"') {
                char c = s.charAt(i++);
                if (c == '\\') {
                    char e = s.charAt(i++);
                    b.append(switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        case 'u' -> {
                            char u = (char) Integer.parseInt(s.substring(i, i + 4), 16);
                            i += 4;
                            yield u;
                        }
                        default -> e;
                    });
                } else {
                    b.append(c);
                }
            }
            i++;
            return b.toString();
        }

        private void skip() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
