package dev.slimnx.cli;

import picocli.CommandLine;

/** Entry point of the {@code slimnx} executable. */
public final class Main {
    private Main() {
    }

    /**
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(SlimnxCommand.commandLine().execute(args));
    }
}
