package io.vae4j.model.taesd;

import java.util.ArrayList;
import java.util.List;

/**
 * The TAESD networks as lists of modules, indexed exactly as taesd.py's {@code nn.Sequential}s are (so the index is
 * the tensor-name prefix). One description feeds both the graph builder and the tensor-shape listing.
 *
 * <p>Encoder: conv(3, 64), Block, then three times [3x3 stride-2 conv without bias, 3 Blocks], then conv(64, z). The
 * 32x variant (taesana's F32Encoder) replaces the first conv and Block with conv(3, 32, stride 2), ReLU,
 * conv(32, 64, stride 2), ReLU, Block. Decoder: Clamp, conv(z, C0), ReLU, 3 Blocks, then per stage [nearest 2x
 * upsample, conv without bias, 3 Blocks (1 in the last stage)], then conv(64, 3); stage widths are 64 everywhere
 * (8x: 3 upsampling stages) or 256, 128, 64, 64, 64, 64 (32x: 5 stages). In taef2 ("flux_2") the Blocks at the
 * lowest resolution (the encoder's last three, the decoder's first three) also have the GroupNorm {@code pool}
 * branch.
 */
final class TaesdArch {
    /** Width of every encoder stage and of the 8x decoder (the 32x decoder starts at 256). */
    static final int WIDTH = 64;
    /** taef2's pool branch: GroupNorm(4, 4c, eps 1e-5). */
    static final int POOL_GROUPS = 4;
    static final float POOL_EPS = 1e-5f;

    private TaesdArch() {
    }

    /** One module of a Sequential, by its index there. */
    sealed interface Module permits Conv, Block, Relu, Clamp, Upsample {
        int index();
    }

    /** conv(in, out, 3x3, padding 1), stride 1 or 2. */
    record Conv(int index, int in, int out, int stride, boolean bias) implements Module {
    }

    /** conv-ReLU-conv-ReLU-conv plus a skip (1x1 without bias when the widths differ), then ReLU. */
    record Block(int index, int in, int out, boolean pool) implements Module {
    }

    record Relu(int index) implements Module {
    }

    /** tanh(z / 3) · 3, the decoder's first module. */
    record Clamp(int index) implements Module {
    }

    /** Nearest 2x; always followed by a convolution, with which it runs fused. */
    record Upsample(int index) implements Module {
    }

    static List<Module> encoder(TaesdConfig c) {
        List<Module> m = new ArrayList<>();
        if (c.f32()) {
            m.add(new Conv(m.size(), 3, 32, 2, true));
            m.add(new Relu(m.size()));
            m.add(new Conv(m.size(), 32, WIDTH, 2, true));
            m.add(new Relu(m.size()));
        } else {
            m.add(new Conv(m.size(), 3, WIDTH, 1, true));
        }
        m.add(new Block(m.size(), WIDTH, WIDTH, false));
        for (int level = 0; level < 3; level++) {
            m.add(new Conv(m.size(), WIDTH, WIDTH, 2, false));
            for (int j = 0; j < 3; j++) {
                m.add(new Block(m.size(), WIDTH, WIDTH, c.midblockGn() && level == 2));
            }
        }
        m.add(new Conv(m.size(), WIDTH, c.latentChannels(), 1, true));
        return m;
    }

    /** The decoder's channel width at the latent's resolution and after each upsampling, in order. */
    static int[] decoderWidths(TaesdConfig c) {
        return c.f32() ? new int[]{256, 128, 64, 64, 64, 64} : new int[]{WIDTH, WIDTH, WIDTH, WIDTH};
    }

    static List<Module> decoder(TaesdConfig c) {
        int[] widths = decoderWidths(c);
        List<Module> m = new ArrayList<>();
        m.add(new Clamp(m.size()));
        m.add(new Conv(m.size(), c.latentChannels(), widths[0], 1, true));
        m.add(new Relu(m.size()));
        for (int j = 0; j < 3; j++) {
            m.add(new Block(m.size(), widths[0], widths[0], c.midblockGn()));
        }
        for (int stage = 1; stage < widths.length; stage++) {
            m.add(new Upsample(m.size()));
            m.add(new Conv(m.size(), widths[stage - 1], widths[stage], 1, false));
            int blocks = stage == widths.length - 1 ? 1 : 3;
            for (int j = 0; j < blocks; j++) {
                m.add(new Block(m.size(), widths[stage], widths[stage], false));
            }
        }
        m.add(new Conv(m.size(), widths[widths.length - 1], 3, 1, true));
        return m;
    }

    /** Width of the pool branch of a Block of {@code c} channels: GroupNorm(4, 4c). */
    static int poolWidth(int c) {
        return 4 * c;
    }
}
