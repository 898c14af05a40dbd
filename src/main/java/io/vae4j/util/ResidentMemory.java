package io.vae4j.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's resident memory as Linux reports it under /proc/self; -1 (or nothing done) elsewhere. */
public final class ResidentMemory {
    private ResidentMemory() {
    }

    /** Peak resident set size (VmHWM in /proc/self/status) in bytes, or -1 where that is not available. */
    public static long peak() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    long v = Long.parseLong(parts[0]);
                    return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? v * 1024 : v;
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or /proc not mounted.
        }
        return -1;
    }

    /** Resident set size now (from /proc/self/statm, in 4 KiB pages) in bytes, or -1 where not available. */
    public static long now() {
        try {
            String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
            return Long.parseLong(f[1]) * 4096;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Resets the kernel's peak counter (writing 5 to /proc/self/clear_refs, Linux 4.0+), so that {@link #peak}
     * from now on is the peak of what follows. Where that is not possible the peak stays the process's so far.
     */
    public static void resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // Not Linux, or not permitted.
        }
    }
}
