package io.vae4j.cli;

import io.vae4j.backend.Backends;
import io.vae4j.backend.Precision;
import io.vae4j.model.Family;

import java.util.AbstractList;
import java.util.List;

/**
 * The values of the options that take one of a few words, for shell completion and the help's
 * {@code ${COMPLETION-CANDIDATES}}. The commands still check each value themselves, with their own messages.
 */
final class Choices {
    private Choices() {
    }

    static final class FamilyIds extends Words {
        FamilyIds() {
            super(List.of(Family.ids().split(", ")));
        }
    }

    static final class BackendNames extends Words {
        BackendNames() {
            super(List.of(Backends.NAMES.split(", ")));
        }
    }

    static final class PrecisionNames extends Words {
        PrecisionNames() {
            super(List.of(Precision.NAMES.split(", ")));
        }
    }

    static final class TilingModes extends Words {
        TilingModes() {
            super(List.of("auto", "fast", "exact", "off"));
        }
    }

    static final class AttentionModes extends Words {
        AttentionModes() {
            super(List.of("auto", "global", "tiled", "off"));
        }
    }

    /** bench's: it has no auto. */
    static final class ExplicitAttentionModes extends Words {
        ExplicitAttentionModes() {
            super(List.of("global", "tiled", "off"));
        }
    }

    static final class Shells extends Words {
        Shells() {
            super(List.of("bash"));
        }
    }

    /** A fixed list of words, iterable as picocli's completionCandidates want. */
    abstract static class Words extends AbstractList<String> {
        private final List<String> words;

        Words(List<String> words) {
            this.words = words;
        }

        @Override
        public String get(int index) {
            return words.get(index);
        }

        @Override
        public int size() {
            return words.size();
        }
    }
}
