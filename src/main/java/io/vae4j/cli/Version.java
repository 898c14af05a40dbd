package io.vae4j.cli;

import picocli.CommandLine.IVersionProvider;

/** --version: the jar manifest's Implementation-Version, or the build's version when run from classes. */
final class Version implements IVersionProvider {
    /** The pom's version, for runs without a jar (tests, IDEs). */
    static final String FALLBACK = "0.1.0-SNAPSHOT";

    static String version() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v != null ? v : FALLBACK;
    }

    @Override
    public String[] getVersion() {
        return new String[]{"vae4j " + version()};
    }
}
