package io.vae4j.model;

import java.util.SequencedMap;

/**
 * What was detected about a model file: for {@code ./vae4j info} and for error messages.
 *
 * @param layout         key layout of the file ("ldm", "diffusers", ...)
 * @param architecture   human-readable architecture summary
 * @param latentSpace    the latent family and the factors applied, and how they were decided
 * @param parameters     weight count per part, in graph order
 * @param dtypes         stored dtypes, e.g. "F16"
 * @param weightBytes    bytes of the stored weights (memory-mapped, shared with the page cache)
 * @param convertedBytes bytes allocated at load to widen F16/BF16 weights to float32
 */
public record ModelInfo(String source, String layout, String architecture, LatentSpace latentSpace,
                        SequencedMap<String, Long> parameters, String dtypes, long weightBytes,
                        long convertedBytes) {

    public long totalParameters() {
        return parameters.values().stream().mapToLong(Long::longValue).sum();
    }
}
