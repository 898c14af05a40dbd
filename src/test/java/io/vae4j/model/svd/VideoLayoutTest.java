package io.vae4j.model.svd;

import io.vae4j.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The video view holds frame t of video b, channel c, pixel p at [b, c, t, p], and turns back into the frames. */
class VideoLayoutTest {
    @Test
    void videoViewIsThePermutationAndRoundTrips() {
        int b = 2, t = 3, c = 4, h = 2, w = 5;
        float[] values = new float[b * t * c * h * w];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        try (Tensor frames = Tensor.of(values, b * t, c, h, w); Tensor video = VideoLayout.toVideo(frames, t);
             Tensor back = VideoLayout.toFrames(video, h, w)) {
            assertArrayEquals(new int[]{b, c, t, h * w}, video.shape());
            for (int v = 0; v < b; v++) {
                for (int f = 0; f < t; f++) {
                    for (int ch = 0; ch < c; ch++) {
                        for (int px = 0; px < h * w; px++) {
                            assertEquals(frames.get((((long) v * t + f) * c + ch) * h * w + px),
                                    video.get((((long) v * c + ch) * t + f) * h * w + px));
                        }
                    }
                }
            }
            assertArrayEquals(frames.toFloatArray(), back.toFloatArray());
            assertArrayEquals(new int[]{b * t, c, h, w}, back.shape());
        }
    }
}
