package io.vae4j.backend;

/** A convolution in the form one backend computes it with (packed, converted). Made once per model load. */
public interface PreparedConv extends AutoCloseable {
    ConvParams params();

    /** Frees what preparation allocated (converted or packed weights); the loaded weights stay untouched. */
    @Override
    default void close() {
    }
}
