package io.vae4j.tensor;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeMemoryTest {
    private static final long MIB = 1L << 20;

    @BeforeEach
    void emptyPool() {
        NativeMemory.trim();
    }

    private static long addressOf(long bytes, Arena arena) {
        return NativeMemory.allocate(bytes, 64, arena).address();
    }

    @Test
    void blocksOfEverySizeLiveTogetherAreReusedWhenTheSameShapesComeAgain() {
        long big, small;
        try (Arena a = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            big = addressOf(32 * MIB, a);
            small = addressOf(8 * MIB, b);
        }
        // A second run of the same model: the small shape first, then the big one, as a decoder's stages go.
        try (Arena a = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            assertEquals(small, addressOf(8 * MIB, a));
            assertEquals(big, addressOf(32 * MIB, b));
        }
    }

    @Test
    void idleBlocksNeverRaiseThePeakOfLiveMemory() {
        try (Arena a = Arena.ofConfined()) {
            addressOf(32 * MIB, a);
        }
        assertEquals(32 * MIB, NativeMemory.idleBytes());
        // Keeping the idle 32 MiB beside a fresh 48 MiB would make 80 MiB resident where 48 were ever needed at once.
        try (Arena a = Arena.ofConfined()) {
            addressOf(48 * MIB, a);
            assertEquals(0, NativeMemory.idleBytes(), "the 32 MiB block should have gone back for the 48");
        }
        assertEquals(48 * MIB, NativeMemory.idleBytes());
    }

    @Test
    void aSizeAskedForAgainAfterItsBlockWasGivenUpStaysAbovePeakFromThenOn() {
        // Two runs of a model whose early and late stages cannot both stay under the peak: each run's first stage
        // gives up the last stage's block, whose size is then asked for again and marked recurring.
        long late = 0;
        for (int run = 0; run < 3; run++) {
            try (Arena a = Arena.ofConfined()) {
                addressOf(32 * MIB, a);
            }
            try (Arena a = Arena.ofConfined()) {
                late = addressOf(48 * MIB, a);
            }
        }
        assertEquals(80 * MIB, NativeMemory.idleBytes(), "both stages' blocks wait for the next run");
        try (Arena a = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            addressOf(32 * MIB, a);
            assertEquals(late, addressOf(48 * MIB, b), "the late stage finds its block from the run before");
        }
        NativeMemory.trim();
        try (Arena a = Arena.ofConfined()) {
            addressOf(32 * MIB, a);
        }
        try (Arena a = Arena.ofConfined()) {
            addressOf(48 * MIB, a);
            assertEquals(0, NativeMemory.idleBytes(), "trim forgets which sizes recur");
        }
    }

    @Test
    void recurringBlocksThatWouldKeepMoreThanTheSlackAbovePeakFallBackToThePeakRule() {
        // Three stages, each alone the peak: keeping all three idle would hold twice the peak and more beyond it.
        long[] stages = {330 * MIB, 340 * MIB, 350 * MIB};
        assertTrue(stages[0] + stages[1] + stages[2] - stages[2] > NativeMemory.RECURRING_SLACK);
        for (int run = 0; run < 3; run++) {
            for (long bytes : stages) {
                try (Arena a = Arena.ofConfined()) {
                    addressOf(bytes, a);
                }
            }
        }
        assertEquals(350 * MIB, NativeMemory.idleBytes(), "only the last stage's block may stay, as if none recurred");
    }

    @Test
    void trimForgetsThePeakSoLaterIdleBlocksFitTheNewWork() {
        try (Arena a = Arena.ofConfined(); Arena b = Arena.ofConfined()) {
            addressOf(64 * MIB, a);
            addressOf(64 * MIB, b);
        }
        NativeMemory.trim();
        try (Arena a = Arena.ofConfined()) {
            addressOf(4 * MIB, a);
        }
        // The peak counts from the trim (4 MiB), not from the 128 MiB before it: a fresh 8 MiB may not sit beside
        // the idle 4 MiB block, which goes back.
        try (Arena a = Arena.ofConfined()) {
            addressOf(8 * MIB, a);
            assertEquals(0, NativeMemory.idleBytes());
        }
    }

    @Test
    void atTheIdleLimitTheLongestIdleBlockMakesWayForTheOneJustReleased() {
        long saved = NativeMemory.limitIdle(48 * MIB);
        try {
            try (Arena b = Arena.ofConfined()) {
                try (Arena a = Arena.ofConfined()) {
                    addressOf(16 * MIB, a);
                    addressOf(40 * MIB, b);
                }
                assertEquals(16 * MIB, NativeMemory.idleBytes());
            }
            assertEquals(40 * MIB, NativeMemory.idleBytes(), "the 16 MiB block went back for the 40");
            long kept;
            try (Arena a = Arena.ofConfined()) {
                kept = addressOf(40 * MIB, a);
            }
            try (Arena a = Arena.ofConfined()) {
                assertEquals(kept, addressOf(40 * MIB, a));
            }
        } finally {
            NativeMemory.limitIdle(saved);
        }
    }
}
