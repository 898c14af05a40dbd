package io.vae4j.model;

import io.vae4j.format.WeightFile;

/** A loaded model and the file whose memory its weights live in; closing it frees both. */
public record Model(Vae vae, WeightFile file) implements AutoCloseable {

    public ModelInfo info() {
        return vae.info();
    }

    @Override
    public void close() {
        vae.close();
        file.close();
    }
}
