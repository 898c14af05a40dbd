package io.vae4j.backend.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp, SiLU and tanh from lane operations that IEEE 754 rounds one way only (add, multiply, fused multiply-add,
 * divide, exact conversions and shifts), so that a result's bits do not depend on which code runs them. The Vector
 * API's own {@code lanewise(EXP)} and {@code TANH} give the interpreter's and C1's lane-by-lane Math results until
 * C2 compiles them into a vector library's, which differ in the last bit: the same decode gave other bits in every
 * process (up to 5e-5 apart at 512x512) depending on when the JIT reached each layer.
 *
 * <p>exp is Cephes' single-precision one: x = n·ln 2 + r with n rounded to nearest and |r| ≤ ln 2 / 2, ln 2 in two
 * parts so that n·ln2Hi is exact, a degree-7 polynomial for e^r (about 1 ulp), and 2^n built in the exponent
 * bits. Its input is clamped to [-87.34, 88.38], where 2^n stays a normal float: below, it returns about 1.2e-38
 * instead of a denormal or 0; above, about 2.2e38 instead of up to 3.4e38 or infinity. SiLU, softmax and tanh
 * cannot tell. NaN stays NaN. {@link #exp(float)} is its scalar twin, bit for bit.
 */
final class VectorMath {
    private static final float LO = -87.33654f;
    private static final float HI = 88.37626f;
    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5·2²³: adding it rounds a float below 2²² to an integer, to nearest. */
    private static final float ROUND = 12582912f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    private VectorMath() {
    }

    static FloatVector exp(FloatVector x) {
        x = x.max(LO).min(HI);
        FloatVector n = x.fma(LOG2E, ROUND).sub(ROUND);
        var s = x.species();
        FloatVector r = n.fma(FloatVector.broadcast(s, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(s, -LN2_LO), r);
        FloatVector p = r.fma(P0, P1).fma(r, FloatVector.broadcast(s, P2)).fma(r, FloatVector.broadcast(s, P3))
                .fma(r, FloatVector.broadcast(s, P4)).fma(r, FloatVector.broadcast(s, P5));
        FloatVector e = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return e.mul(bits.reinterpretAsFloats());
    }

    /** x·sigmoid(x) = x / (1 + e^-x). */
    static FloatVector silu(FloatVector x) {
        return x.div(exp(x.neg()).add(1f));
    }

    /** tanh x = 1 - 2 / (e^2x + 1): within 1e-7 of it absolutely (the activations' scale), not relatively near 0. */
    static FloatVector tanh(FloatVector x) {
        return FloatVector.broadcast(x.species(), 1f).sub(FloatVector.broadcast(x.species(), 2f)
                .div(exp(x.add(x)).add(1f)));
    }

    /** {@link #exp(FloatVector)} for one float, the same operations in the same order. */
    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float n = Math.fma(x, LOG2E, ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P0, P1), r, P2), r, P3), r, P4), r, P5);
        float e = Math.fma(p, r * r, r) + 1f;
        return e * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
