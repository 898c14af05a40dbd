package io.vae4j.cli;

/** Entry point of ./vae4j. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.out.println("vae4j");
    }
}
