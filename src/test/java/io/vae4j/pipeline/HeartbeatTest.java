package io.vae4j.pipeline;

import io.vae4j.tiles.Progress;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A step of unknown length says nothing for two seconds, then how long it has taken, and stops when closed. */
class HeartbeatTest {
    @Test
    void silentThenElapsedThenStops() throws InterruptedException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (Heartbeat quick = new Heartbeat("quick", out, Progress.Mode.LOG)) {
            Thread.sleep(50);
        }
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
        try (Heartbeat slow = new Heartbeat("loading model sd", out, Progress.Mode.BAR)) {
            Thread.sleep(2600);
        }
        String s = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(s.startsWith("\rloading model sd ... 2."), s);
        assertTrue(s.endsWith("\n"), "the bar's line is ended");
        int length = s.length();
        Thread.sleep(400);
        assertEquals(length, bytes.toString(StandardCharsets.UTF_8).length(), "nothing after close");
    }
}
