package io.vae4j.backend;

/** A convolution in the form one backend computes it with (packed, converted). Made once per model load. */
public interface PreparedConv {
    ConvParams params();
}
