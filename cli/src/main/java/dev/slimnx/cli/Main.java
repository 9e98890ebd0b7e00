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
        CommandLine cl = SlimnxCommand.commandLine();
        int code = cl.execute(args);
        // NOTE: picocli's writers autoflush on println only; a command that ends with print() would
        // otherwise lose its last output at System.exit.
        cl.getOut().flush();
        cl.getErr().flush();
        System.exit(code);
    }
}
