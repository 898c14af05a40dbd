package io.vae4j.model.svd;

import io.vae4j.backend.Backend;
import io.vae4j.model.nn.Layer;
import io.vae4j.tensor.Tensor;

/** One step of the temporal decoder: a layer that may look across the frames of each video. */
interface FrameLayer extends AutoCloseable {
    /** Runs on frames x [B·T, C, H, W] of videos of {@code frames} frames each; closes x. */
    Tensor forwardConsuming(Backend b, Tensor x, int frames);

    long parameters();

    /** As {@link Layer#macs}, for frames of this shape [B·T, C, H, W]. */
    long macs(int[] in);

    int[] outShape(int[] in);

    @Override
    void close();

    /** A layer that treats every frame alone. */
    static FrameLayer perFrame(Layer layer) {
        return new FrameLayer() {
            @Override
            public Tensor forwardConsuming(Backend b, Tensor x, int frames) {
                return layer.forwardConsuming(b, x);
            }

            @Override
            public long parameters() {
                return layer.parameters();
            }

            @Override
            public long macs(int[] in) {
                return layer.macs(in);
            }

            @Override
            public int[] outShape(int[] in) {
                return layer.outShape(in);
            }

            @Override
            public void close() {
                layer.close();
            }
        };
    }
}
