package io.vae4j.model.nn;

import io.vae4j.backend.Backend;
import io.vae4j.tensor.Tensor;
import io.vae4j.util.ResidentMemory;

import java.util.List;

/** Layers run one after another; each intermediate is handed to the next layer, which frees it when done. */
public final class Sequential implements Layer {
    /**
     * -Dvae4j.profile=true prints each layer's wall time to stderr: where a model spends its time. With one thread
     * the calling thread's CPU time next to it is the layer's work, which other load on the machine barely moves.
     */
    private static final boolean PROFILE = Boolean.getBoolean("vae4j.profile");
    private static final java.lang.management.ThreadMXBean THREAD =
            java.lang.management.ManagementFactory.getThreadMXBean();
    private final List<Layer> layers;

    public Sequential(List<Layer> layers) {
        this.layers = List.copyOf(layers);
    }

    public List<Layer> layers() {
        return layers;
    }

    @Override
    public Tensor forward(Backend backend, Tensor x) {
        return run(backend, x, layers);
    }

    @Override
    public long macs(int[] in) {
        return macs(layers, in);
    }

    @Override
    public int[] outShape(int[] in) {
        return outShape(layers, in);
    }

    /** The multiply-accumulates of {@code layers} run in order on an input of this shape. */
    public static long macs(List<Layer> layers, int[] in) {
        long sum = 0;
        int[] shape = in;
        for (Layer l : layers) {
            sum += l.macs(shape);
            shape = l.outShape(shape);
        }
        return sum;
    }

    public static int[] outShape(List<Layer> layers, int[] in) {
        int[] shape = in;
        for (Layer l : layers) {
            shape = l.outShape(shape);
        }
        return shape;
    }

    /** Hands x to the first layer too. */
    @Override
    public Tensor forwardConsuming(Backend backend, Tensor x) {
        return run(backend, x, layers, true);
    }

    /** Runs {@code layers} in order on x, freeing each intermediate; returns a new tensor even for no layers. */
    public static Tensor run(Backend backend, Tensor x, List<Layer> layers) {
        return run(backend, x, layers, false);
    }

    private static Tensor run(Backend backend, Tensor x, List<Layer> layers, boolean ownsInput) {
        Tensor h = x;
        boolean owned = ownsInput;
        for (Layer layer : layers) {
            long start = PROFILE ? System.nanoTime() : 0, cpu = PROFILE ? THREAD.getCurrentThreadCpuTime() : 0;
            int[] inShape = PROFILE ? h.shape() : null;
            Tensor next = owned ? layer.forwardConsuming(backend, h) : layer.forward(backend, h);
            if (PROFILE) {
                System.err.printf("profile %-14s %-22s -> %-22s %8.1f ms  (this thread's cpu %8.1f ms)"
                                + "  rss %5d MB%n",
                        layer.getClass().getSimpleName(), java.util.Arrays.toString(inShape),
                        java.util.Arrays.toString(next.shape()), (System.nanoTime() - start) / 1e6,
                        (THREAD.getCurrentThreadCpuTime() - cpu) / 1e6, Math.max(0, ResidentMemory.now()) >> 20);
            }
            owned = true;
            h = next;
        }
        return h == x && !ownsInput ? x.copyF32() : h;
    }

    @Override
    public long parameters() {
        return layers.stream().mapToLong(Layer::parameters).sum();
    }

    @Override
    public void close() {
        layers.forEach(Layer::close);
    }
}
