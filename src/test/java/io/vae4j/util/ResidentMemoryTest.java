package io.vae4j.util;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResidentMemoryTest {

    @Test
    void peakRssIsReadOnLinux() {
        long rss = ResidentMemory.peak();
        if (System.getProperty("os.name").toLowerCase().contains("linux")) {
            assertTrue(rss > 1 << 20, "VmHWM " + rss);
            assertTrue(ResidentMemory.now() > 1 << 20, "VmRSS");
        } else {
            assertEquals(-1, rss);
        }
    }
}
