package io.vae4j.tiles.io;

import io.vae4j.VaeException;
import io.vae4j.tensor.DType;
import io.vae4j.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;

/** What the strip readers share: their error message form and the check of a destination tensor. */
final class StripReaders {
    private StripReaders() {
    }

    /** "cannot read image FILE: REASON", the form {@code Images.read} uses too. */
    static VaeException error(Path file, String reason, Throwable cause) {
        return new VaeException("cannot read image " + file + ": " + reason, cause);
    }

    /** Checks {@code into} for {@link ImageStripReader#readRows(Tensor)} and returns its row count. */
    static int checkInto(ImageStripReader r, Tensor into) {
        if (into.dtype() != DType.F32 || into.rank() != 4 || into.dim(0) != 1 || into.dim(1) != 3
                || into.dim(3) != r.width()) {
            throw new IllegalArgumentException("expected a float32 [1, 3, rows, " + r.width() + "] tensor, got "
                    + into.dtype() + Arrays.toString(into.shape()));
        }
        int count = into.dim(2);
        if (count > r.rowsLeft()) {
            throw new IllegalArgumentException("cannot read " + count + " rows of " + r.file() + ": " + r.rowsLeft()
                    + " of " + r.height() + " rows are left");
        }
        return count;
    }
}
