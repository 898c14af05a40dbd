package io.vae4j.cli;

import io.vae4j.VaeException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/** Checks an output path before any work is done, so a bad path fails in a second, not after the decode. */
final class Outputs {
    private Outputs() {
    }

    static String extension(Path p) {
        String name = p.getFileName() == null ? "" : p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    static String requireWritable(Path out, Set<String> extensions) {
        String ext = extension(out);
        if (!extensions.contains(ext)) {
            throw new VaeException("output " + out + ": unsupported extension '." + ext + "' (expected one of: ."
                    + String.join(", .", extensions.stream().sorted().toList()) + ")");
        }
        if (Files.isDirectory(out)) {
            throw new VaeException("cannot write " + out + ": it is a directory");
        }
        Path dir = out.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new VaeException("cannot write " + out + ": directory " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new VaeException("cannot write " + out + ": directory " + dir + " is not writable");
        }
        return ext;
    }
}
