package io.vae4j.util;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Names of the hidden temporary files an output is written to before it is renamed over its target
 * ({@code .NAME.tmp-PID-RANDOM}, in the target's directory), and the sweep of those a killed process left.
 *
 * <p>A {@code kill -9} (or a crash) runs no shutdown hook, so the temporary of an unfinished output stays. It never
 * has the target's name (readers of the target see the old file or none), and the next write of the same target
 * deletes it: the process id in its name says whether its writer is gone. A temporary whose process is alive is
 * another writer of the same target, and is left alone; a recycled process id only delays the cleanup.
 */
public final class PendingNames {
    private static final long PID = ProcessHandle.current().pid();

    private PendingNames() {
    }

    /** A fresh temporary name for {@code target}, in its directory {@code dir}. */
    public static Path next(Path dir, Path target) {
        long random = ThreadLocalRandom.current().nextLong() >>> 16;
        return dir.resolve(prefix(target) + PID + "-" + Long.toHexString(random));
    }

    /** Deletes the temporaries of {@code target} in {@code dir} whose writing process no longer runs. */
    public static void sweep(Path dir, Path target) {
        String prefix = prefix(target);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, p -> p.getFileName().toString()
                .startsWith(prefix))) {
            for (Path p : s) {
                String rest = p.getFileName().toString().substring(prefix.length());
                int dash = rest.indexOf('-');
                long pid;
                try {
                    pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
                } catch (NumberFormatException e) {
                    continue; // not one of ours
                }
                if (pid != PID && ProcessHandle.of(pid).isEmpty()) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException | SecurityException e) {
            // Cleanup is a courtesy: the write itself reports what matters.
        }
    }

    private static String prefix(Path target) {
        return "." + target.getFileName() + ".tmp-";
    }
}
