package io.vae4j.model;

/** The value range a model's images live in. */
public enum ImageRange {
    /** The AutoencoderKL convention. */
    MINUS_ONE_ONE,
    /** The TAESD convention. */
    ZERO_ONE
}
