package io.vae4j.backend;

import io.vae4j.backend.onednn.OneDnn;
import io.vae4j.backend.onednn.OneDnnBackend;
import io.vae4j.backend.scalar.ScalarBackend;
import io.vae4j.backend.vector.VectorBackend;
import io.vae4j.tensor.Layout;
import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every kernel of each fast backend (the Vector API one, and oneDNN where libdnnl is installed) against its scalar
 * twin, on shapes that exercise the tails and odd sizes.
 */
class BackendTwinTest {
    private static final Backend REF = new ScalarBackend();
    private static final VectorBackend JAVA = new VectorBackend(2, true);
    private static final VectorBackend JAVA_DIRECT = new VectorBackend(2, false);
    private static final VectorBackend JAVA_2X2 = new VectorBackend(2, VectorBackend.Winograd.F2X2);
    private static final VectorBackend JAVA_4X4 = new VectorBackend(2, VectorBackend.Winograd.F4X4);
    private static final VectorBackend JAVA_6X6 = new VectorBackend(2, VectorBackend.Winograd.F6X6);
    private static final Map<String, OneDnnBackend> ONEDNN = new HashMap<>();
    /** The fast backends: "onednn" with its default options, and its other ways of computing a convolution. */
    static final String[] BACKENDS = {"java", "java-direct", "java-2x2", "java-4x4", "java-6x6", "onednn", "onednn-plain",
            "onednn-deconv"};

    /** The fast backend of that name; a oneDNN test is skipped, saying why, where oneDNN is not available. */
    static synchronized Backend fast(String name) {
        if (name.equals("java")) {
            return JAVA;
        }
        if (name.equals("java-direct")) {
            return JAVA_DIRECT;
        }
        if (name.equals("java-2x2")) {
            return JAVA_2X2;
        }
        if (name.equals("java-4x4")) {
            return JAVA_4X4;
        }
        if (name.equals("java-6x6")) {
            return JAVA_6X6;
        }
        assumeTrue(OneDnn.available(), () -> "oneDNN backend not tested: " + OneDnn.unavailableReason());
        return ONEDNN.computeIfAbsent(name, n -> new OneDnnBackend(2, switch (n) {
            case "onednn" -> OneDnnBackend.Options.DEFAULT;
            case "onednn-plain" -> new OneDnnBackend.Options(OneDnnBackend.ConvLayout.PLAIN,
                    OneDnnBackend.UpsampleConv.MATERIALIZE, false, false);
            case "onednn-deconv" -> new OneDnnBackend.Options(OneDnnBackend.ConvLayout.BLOCKED,
                    OneDnnBackend.UpsampleConv.DECONV, true, true);
            default -> throw new IllegalArgumentException(n);
        }));
    }

    @AfterAll
    static void close() {
        JAVA.close();
        JAVA_DIRECT.close();
        JAVA_2X2.close();
        JAVA_4X4.close();
        JAVA_6X6.close();
        ONEDNN.values().forEach(OneDnnBackend::close);
    }

    /** Convolution cases: kernel, stride, padding top/left/bottom/right, in/out channels, h, w, upsample, residual. */
    static final String[] CONV_CASES = {
            "3,1,1,1,1,1, 5,7, 9,11, 1,false",
            "3,1,1,1,1,1, 32,64, 8,8, 1,true",
            "3,1,1,1,1,1, 3,13, 33,17, 1,false",
            "3,1,1,1,1,1, 16,6, 7,5, 2,false",
            "3,1,1,1,1,1, 20,3, 6,9, 2,false",
            "3,1,1,1,1,1, 19,16, 5,4, 1,true",
            "3,2,0,0,1,1, 8,8, 16,16, 1,false",
            "3,2,0,0,1,1, 5,9, 13,11, 1,false",
            "3,2,1,1,1,1, 6,10, 15,12, 1,false",
            "1,1,0,0,0,0, 7,9, 5,13, 1,true",
            "1,1,0,0,0,0, 64,32, 16,16, 1,false",
            "1,1,0,0,0,0, 3,5, 4,4, 2,false",
            "3,2,1,1,1,1, 4,6, 5,7, 2,false",
            "3,1,1,1,1,1, 16,24, 7,5, 2,true",
            "3,1,1,1,1,1, 9,17, 13,6, 1,true",
            "3,1,1,1,1,1, 64,64, 64,64, 1,true",
            "3,1,1,1,1,1, 24,16, 30,101, 1,true",
            "3,1,1,1,1,1, 12,20, 23,41, 2,false",
            "3,1,1,1,1,1, 40,32, 21,35, 2,false",
            "3,1,1,1,1,1, 64,8, 4,4, 2,false",
            "3,1,1,1,1,1, 8,16, 1,2, 2,false",
            // Tile rows of 15 and 31 tiles: vectors of one tile row each, the last with a junk lane.
            "3,1,1,1,1,1, 16,16, 20,60, 1,true",
            "3,1,1,1,1,1, 16,8, 9,124, 2,false",
            // F(6x6): tile rows of 16 and 15 tiles (row-aligned vectors), and 14 (vectors across rows).
            "3,1,1,1,1,1, 16,16, 13,96, 1,true",
            "3,1,1,1,1,1, 16,8, 7,90, 1,false",
            "3,1,1,1,1,1, 8,16, 19,83, 1,true",
            // Stride 2 on the packed kernel (output channels a multiple of 8), and with K = 320·9 in chunks.
            "3,2,1,1,1,1, 12,16, 17,23, 2,true",
            "3,2,0,0,1,1, 320,16, 9,11, 1,false",
            // 1x1 on the packed kernel: a strip narrower than one block (15 pixels), and two strips, the second
            // ending in a block that overlaps the one before (1763 = 1536 + 227 pixels).
            "1,1,0,0,0,0, 16,16, 3,5, 1,true",
            "1,1,0,0,0,0, 16,24, 41,43, 1,true",
    };

    static Stream<Arguments> convCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String backend : BACKENDS) {
            for (String c : CONV_CASES) {
                String[] f = c.split(",");
                Object[] args = new Object[f.length + 1];
                args[0] = backend;
                for (int i = 0; i < f.length; i++) {
                    String v = f[i].trim();
                    args[i + 1] = v.equals("true") || v.equals("false") ? (Object) Boolean.parseBoolean(v)
                            : (Object) Integer.parseInt(v);
                }
                cases.add(Arguments.of(args));
            }
        }
        return cases.stream();
    }

    private static void assertClose(Tensor expected, Tensor actual, float tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float d = Random4.maxAbsDiff(expected, actual);
        assertTrue(d <= tol, what + ": max abs diff " + d + " > " + tol);
    }

    /** The same, for a result of {@code fast}, which may come in that backend's own layout. */
    private static void assertClose(Tensor expected, Backend fast, Tensor actual, float tol, String what) {
        assertClose(expected, fast.toNchw(actual), tol, what);
    }

    /** {@link #assertClose(Tensor, Backend, Tensor, float, String)} with tol relative to expected's largest value. */
    private static void assertRelative(Tensor expected, Backend fast, Tensor actual, float tol, String what) {
        float max = 1;
        for (long i = 0; i < expected.numel(); i++) {
            max = Math.max(max, Math.abs(expected.get(i)));
        }
        assertClose(expected, fast, actual, tol * max, what + " (largest value " + max + ")");
    }

    @ParameterizedTest(name = "{0} conv k{1} s{2} pad{3}{4}{5}{6} {7}->{8} {9}x{10} up{11} res{12}")
    @MethodSource("convCases")
    void convolutionMatchesScalar(String backend, int k, int s, int pt, int pl, int pb, int pr, int cin, int cout,
                                  int h, int w, int up, boolean residual) {
        Backend fast = fast(backend);
        Random4 r = new Random4(k * 1000L + cin * 31L + h);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, cout, cin, k, k), r.normal(0.5f, cout),
                new ConvGeometry(k, s, pt, pl, pb, pr));
        try (Tensor in = r.normal(1f, 2, cin, h, w)) {
            PreparedConv a = REF.prepareConv(p), b = fast.prepareConv(p);
            Tensor res = null;
            if (residual) {
                res = r.normal(1f, Checks.convOutShape(in, a, up));
            }
            Tensor expected = up == 2 ? REF.upsampleConv2d(in, a) : REF.conv2d(in, a, res);
            Tensor actual = up == 2 ? fast.upsampleConv2d(in, b) : fast.conv2d(in, b, res);
            assertClose(expected, fast, actual, 2e-5f * (float) Math.sqrt(cin * k * k), "conv");
            // Again: a backend that caches per shape must give the same answer from its cache.
            Tensor again = up == 2 ? fast.upsampleConv2d(in, b) : fast.conv2d(in, b, res);
            assertClose(fast.toNchw(actual), fast, again, 0f, "conv, second call");
            b.close();
        }
    }

    static Stream<Arguments> reluConvCases() {
        return convCases().filter(a -> (int) a.get()[11] == 1);
    }

    /** ReLU(conv + residual) in one call: fused into the output where the backend can, against conv then map. */
    @ParameterizedTest(name = "{0} conv+relu k{1} s{2} pad{3}{4}{5}{6} {7}->{8} {9}x{10} res{12}")
    @MethodSource("reluConvCases")
    void convolutionWithReluMatchesScalar(String backend, int k, int s, int pt, int pl, int pb, int pr, int cin,
                                          int cout, int h, int w, int up, boolean residual) {
        Backend fast = fast(backend);
        Random4 r = new Random4(k * 1000L + cin * 31L + h + 5);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, cout, cin, k, k), r.normal(0.5f, cout),
                new ConvGeometry(k, s, pt, pl, pb, pr));
        try (Tensor in = r.normal(1f, 2, cin, h, w)) {
            PreparedConv a = REF.prepareConv(p), b = fast.prepareConv(p);
            Tensor res = residual ? r.normal(1f, Checks.convOutShape(in, a, 1)) : null;
            Tensor expected;
            try (Tensor linear = REF.conv2d(in, a, res)) {
                expected = REF.map(linear, Backend.Activation.RELU);
            }
            Tensor actual = fast.conv2d(in, b, res, Backend.Activation.RELU);
            assertClose(expected, fast, actual, 2e-5f * (float) Math.sqrt(cin * k * k), "conv+relu");
            long negative = 0;
            Tensor nchw = fast.toNchw(actual);
            for (long i = 0; i < nchw.numel(); i++) {
                negative += nchw.get(i) < 0 ? 1 : 0;
            }
            assertEquals(0, negative, "no negative value after ReLU");
            b.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "onednn"})
    void groupNormWithAndWithoutSilu(String backend) {
        Backend fast = fast(backend);
        Random4 r = new Random4(7);
        Tensor in = r.normal(3f, 2, 64, 9, 7);
        for (int i = 0; i < in.numel(); i += 5) {
            in.set(i, in.get(i) + 4f);
        }
        Tensor gamma = r.normal(1f, 64), beta = r.normal(1f, 64);
        for (boolean silu : new boolean[]{false, true}) {
            assertClose(REF.groupNorm(in, gamma, beta, 32, 1e-6f, silu), fast,
                    fast.groupNorm(in, gamma, beta, 32, 1e-6f, silu), 2e-5f, "groupnorm silu=" + silu);
        }
        assertClose(REF.groupNorm(in, gamma, beta, 4, 1e-5f, false), fast,
                fast.groupNorm(in, gamma, beta, 4, 1e-5f, false), 2e-5f, "groupnorm 4 groups");
    }

    static Stream<Arguments> normConvCases() {
        List<Arguments> cases = new ArrayList<>();
        String[] shapes = {"3,1, 64,32, 9,7, true", "3,1, 32,3, 16,16, true", "3,1, 32,40, 5,12, false",
                "1,1, 32,16, 6,6, true", "3,2, 32,32, 11,9, true", "3,1, 16,24, 13,90, true",
                "3,1, 16,16, 6,64, true", "3,1, 8,16, 3,128, false", "3,1, 8,8, 4,200, true"};
        for (String backend : BACKENDS) {
            for (String c : shapes) {
                String[] f = c.split(",");
                cases.add(Arguments.of(backend, Integer.parseInt(f[0].trim()), Integer.parseInt(f[1].trim()),
                        Integer.parseInt(f[2].trim()), Integer.parseInt(f[3].trim()), Integer.parseInt(f[4].trim()),
                        Integer.parseInt(f[5].trim()), Boolean.parseBoolean(f[6].trim())));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} norm+conv k{1} s{2} {3}->{4} {5}x{6} silu={7}")
    @MethodSource("normConvCases")
    void normalisedConvolutionMatchesScalar(String backend, int k, int s, int cin, int cout, int h, int w,
                                            boolean silu) {
        Backend fast = fast(backend);
        Random4 r = new Random4(cin * 7L + h);
        ConvGeometry g = s == 2 ? ConvGeometry.ldmDownsample() : ConvGeometry.of(k);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, cout, cin, k, k), r.normal(0.5f, cout), g);
        GroupNormSpec norm = new GroupNormSpec(r.normal(1f, cin), r.normal(1f, cin), 8, 1e-6f, silu);
        try (Tensor in = r.normal(2f, 2, cin, h, w)) {
            Tensor res = r.normal(1f, Checks.convOutShape(in, REF.prepareConv(p), 1));
            Tensor expected = REF.normConv2d(in, norm, REF.prepareConv(p), res);
            float tolerance = 2e-5f * (float) Math.sqrt(cin * k * k);
            assertClose(expected, fast, fast.normConv2d(in, norm, fast.prepareConv(p), res), tolerance, "norm+conv");
            // The same with the residual handed over: written over in place where the kernel can, else freed.
            Tensor given = res.copyF32();
            Tensor overResidual = fast.normConv2dOverResidual(in, norm, fast.prepareConv(p), given);
            assertClose(expected, fast, overResidual, tolerance, "norm+conv over the residual");
            if (overResidual != given) {
                assertFalse(given.data().scope().isAlive(), "a residual not written over is freed");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "onednn"})
    void residualOfAnotherShapeIsRefused(String backend) {
        Backend fast = fast(backend);
        Random4 r = new Random4(2);
        ConvParams p = new ConvParams("conv", r.normal(0.2f, 8, 8, 3, 3), r.normal(0.5f, 8), ConvGeometry.same3x3());
        GroupNormSpec norm = new GroupNormSpec(r.normal(1f, 8), r.normal(1f, 8), 4, 1e-6f, true);
        try (Tensor in = r.normal(1f, 1, 8, 6, 6); Tensor wrong = r.normal(1f, 1, 8, 6, 5)) {
            PreparedConv c = fast.prepareConv(p);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> fast.conv2d(in, c, wrong));
            assertTrue(e.getMessage().contains("conv residual: shapes differ"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> fast.normConv2dOverResidual(in, norm, c, wrong.copyF32()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "onednn"})
    void attentionMatchesScalar(String backend) {
        Backend fast = fast(backend);
        Random4 r = new Random4(11);
        // Over 512 tokens: several key chunks (online softmax rescaling) and a partial last query block. Channels and
        // tokens in multiples of 8 run on the packed kernel ({2, 40, 8, 8} and {1, 32, 26, 36}), the rest do not.
        for (int[] shape : new int[][]{{1, 16, 5, 7}, {2, 40, 8, 8}, {1, 8, 1, 1}, {1, 24, 23, 29}, {1, 16, 33, 33},
                {1, 32, 26, 36}}) {
            Tensor q = r.normal(1f, shape), k = r.normal(1f, shape), v = r.normal(1f, shape);
            assertClose(REF.attention(q, k, v), fast, fast.attention(q, k, v), 1e-5f, "attention");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "onednn"})
    void elementwiseMatchScalar(String backend) {
        Backend fast = fast(backend);
        Random4 r = new Random4(3);
        Tensor a = r.normal(4f, 1, 3, 17, 19), b = r.normal(1f, 1, 3, 17, 19);
        assertClose(REF.add(a, b), fast, fast.add(a, b), 0f, "add");
        assertClose(REF.upsampleNearest2x(a), fast, fast.upsampleNearest2x(a), 0f, "upsample");
        for (Backend.Activation act : Backend.Activation.values()) {
            assertClose(REF.map(a, act), fast, fast.map(a, act), 2e-6f, act.name());
        }
    }

    /**
     * A chain of layers as a graph runs them, so that every kernel also gets its inputs in the layout the backend
     * keeps between layers (oneDNN's blocked one) rather than the NCHW a single call gets: convolutions with and
     * without a residual, a normalised one (own and frozen statistics), upsampling ones, a last one to channels
     * that fill no block, and the elementwise kernels and attention on what they produce.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"java", "onednn", "onednn-plain", "onednn-deconv"})
    void chainOfLayersMatchesScalar(String backend) {
        Backend fast = fast(backend);
        Random4 r = new Random4(13);
        ConvParams c1 = new ConvParams("c1", r.normal(0.2f, 32, 16, 3, 3), r.normal(0.5f, 32), ConvGeometry.same3x3());
        ConvParams c2 = new ConvParams("c2", r.normal(0.1f, 32, 32, 3, 3), r.normal(0.5f, 32), ConvGeometry.same3x3());
        ConvParams c3 = new ConvParams("c3", r.normal(0.1f, 16, 32, 3, 3), r.normal(0.5f, 16), ConvGeometry.same3x3());
        ConvParams c4 = new ConvParams("c4", r.normal(0.2f, 32, 16, 1, 1), r.normal(0.5f, 32), ConvGeometry.pointwise());
        ConvParams c5 = new ConvParams("c5", r.normal(0.1f, 3, 32, 3, 3), r.normal(0.5f, 3), ConvGeometry.same3x3());
        ConvParams c6 = new ConvParams("c6", r.normal(0.1f, 32, 32, 3, 3), r.normal(0.5f, 32),
                ConvGeometry.ldmDownsample());
        ConvParams c7 = new ConvParams("c7", r.normal(0.2f, 16, 32, 1, 1), r.normal(0.5f, 16), ConvGeometry.pointwise());
        GroupNormSpec norm = new GroupNormSpec(r.normal(1f, 32), r.normal(1f, 32), 8, 1e-6f, true);
        GroupNormSpec frozen = new GroupNormSpec(r.normal(1f, 32), r.normal(1f, 32), 8, 1e-6f, false,
                new float[]{0.1f, -0.2f, 0.3f, 0, 0.5f, 1, -1, 2}, new float[]{1, 2, 0.5f, 1, 1, 3, 1, 0.25f});
        float tol = 2e-5f;
        try (Tensor x = r.normal(1f, 2, 16, 9, 11)) {
            PreparedConv[] ref = {REF.prepareConv(c1), REF.prepareConv(c2), REF.prepareConv(c3), REF.prepareConv(c4),
                    REF.prepareConv(c5), REF.prepareConv(c6), REF.prepareConv(c7)};
            PreparedConv[] f = {fast.prepareConv(c1), fast.prepareConv(c2), fast.prepareConv(c3),
                    fast.prepareConv(c4), fast.prepareConv(c5), fast.prepareConv(c6), fast.prepareConv(c7)};
            Tensor e1 = REF.conv2d(x, ref[0], null), a1 = fast.conv2d(x, f[0], null);
            assertRelative(e1, fast, a1, tol, "conv");
            if (fast instanceof OneDnnBackend o && o.keptLayout() != null) {
                assertEquals(o.keptLayout(), a1.layout(), "32 channels stay in the kept layout");
            }
            Tensor e2 = REF.normConv2d(e1, norm, ref[1], e1), a2 = fast.normConv2d(a1, norm, f[1], a1);
            assertRelative(e2, fast, a2, tol, "norm+conv with a residual");
            Tensor e3 = REF.upsampleConv2d(e2, ref[2]), a3 = fast.upsampleConv2d(a2, f[2]);
            assertRelative(e3, fast, a3, tol, "upsample+conv");
            Tensor e4 = REF.conv2d(e3, ref[3], null), a4 = fast.conv2d(a3, f[3], null);
            assertRelative(e4, fast, a4, tol, "1x1 conv");
            Tensor e5 = REF.normConv2dOverResidual(e4, frozen, ref[1], e4.copyF32());
            Tensor a5 = fast.normConv2dOverResidual(a4, frozen, f[1], a4.copyF32());
            assertRelative(e5, fast, a5, tol, "norm (frozen) + conv over the residual");
            assertRelative(REF.groupNorm(e5, norm), fast, fast.groupNorm(a5, norm), tol, "group norm");
            assertRelative(REF.groupNorm(e5, frozen), fast, fast.groupNorm(a5, frozen), tol, "frozen group norm");
            assertRelative(REF.upsampleNearest2x(e5), fast, fast.upsampleNearest2x(a5), tol, "upsample");
            assertRelative(REF.add(e5, e4), fast, fast.add(a5, a4), tol, "add");
            assertRelative(REF.add(e5, e4), fast, fast.add(a5, fast.toNchw(a4)), tol, "add across layouts");
            // Activations and attention on normalised values, where their float error is that of the kernels.
            Tensor en = REF.groupNorm(e5, norm), an = fast.groupNorm(a5, norm);
            for (Backend.Activation act : Backend.Activation.values()) {
                assertRelative(REF.map(en, act), fast, fast.map(an, act), tol, act.name());
            }
            assertRelative(REF.attention(en, e4, en), fast, fast.attention(an, a4, an), tol, "attention");
            assertRelative(REF.upsampleConv2d(e5, ref[6]), fast, fast.upsampleConv2d(a5, f[6]), tol, "upsample + 1x1");
            assertRelative(REF.conv2d(e5, ref[5], null), fast, fast.conv2d(a5, f[5], null), tol, "stride 2");
            Tensor last = fast.conv2d(a5, f[4], null);
            assertEquals(Layout.NCHW, last.layout(), "3 channels fill no block");
            assertRelative(REF.conv2d(e5, ref[4], null), fast, last, tol, "to 3 channels");
        }
    }
}
