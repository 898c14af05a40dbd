package io.vae4j.server;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vae4j.VaeException;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.fuzz.Hostile;
import io.vae4j.model.Model;
import io.vae4j.model.ModelLoader;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A request as the server reads it before any work: the query (shape, dtype, output, scaling), the declared body
 * length, the body's checks (a tensor's byte count, an image's sniffed type and declared size) and the tensor wire
 * decoding. Whatever the client sends is accepted or refused with a 4xx and one line; nothing else escapes (it
 * would be a 500), and nothing is allocated for a declared size the limits refuse.
 */
class RequestFuzzTest {
    private static final String[] KEYS = {"shape", "dtype", "output_type", "image_format", "partial_postprocess",
            "scaling_factor", "shift_factor", "do_scaling", "height", "width", "model"};
    private static final long BUDGET = 1L << 30;
    private static final Models MODELS = new Models();

    /** The two small models every input is tried against, loaded once per JVM. */
    private static final class Models {
        final Path dir = Hostile.dir("server");
        final Model kl = ModelLoader.load(TestModels.kl(dir, 4), new ScalarBackend(), null);
        final Model taesd = ModelLoader.load(TestModels.taesd(dir), new ScalarBackend(), null);
        final RemoteVae remote = new RemoteVae(new ServerConfig("127.0.0.1", 0, 2, 2, BUDGET, Duration.ofSeconds(5),
                Duration.ofSeconds(1), 4096L * 4096, dir, false), line -> { });
    }

    @FuzzTest
    void request(FuzzedDataProvider in) {
        Map<String, List<String>> q = new HashMap<>();
        for (int k = in.consumeInt(0, 10); k > 0; k--) {
            String key = in.consumeBoolean() ? KEYS[in.consumeInt(0, KEYS.length - 1)] : in.consumeString(12);
            q.computeIfAbsent(key, x -> new ArrayList<>()).add(in.consumeString(24));
        }
        boolean decode = in.consumeBoolean();
        boolean kl = in.consumeBoolean();
        String accept = in.consumeBoolean() ? in.consumeString(24) : null;
        long declared = in.consumeLong();
        byte[] rest = in.consumeRemainingAsBytes();
        Query query = new Query(name -> q.getOrDefault(name, List.of()));
        ServedModel m = new ServedModel("m", kl ? MODELS.kl : MODELS.taesd, null);
        Hostile.parse(rest.length, 64, 4L << 20, () -> {
            try {
                RemoteVae.Prepared p = decode ? MODELS.remote.prepareDecode(query, accept, m)
                        : MODELS.remote.prepareEncode(query, m);
                p.checkDeclaredLength(declared);
                // A tensor body the client got right is as long as the query says: pad or cut to it, so the wire
                // decoding is reached, when that is small enough to build here.
                byte[] body = rest;
                if (decode && p.maxBodyBytes() <= 1 << 20) {
                    body = Arrays.copyOf(rest, (int) p.maxBodyBytes());
                }
                p.checkBody(body);
                if (decode) {
                    DecodeSpec spec = DecodeSpec.parse(query, accept, m, 4096L * 4096, BUDGET);
                    try (Tensor t = spec.dtype().read(body, spec.wireShape())) {
                        t.numel();
                    }
                }
                return null;
            } catch (HttpError e) {
                if (e.status < 400 || e.status >= 500) {
                    throw new AssertionError("status " + e.status + " for a client's mistake: " + e.getMessage(), e);
                }
                throw new VaeException(e.getMessage(), e);
            }
        });
    }
}
