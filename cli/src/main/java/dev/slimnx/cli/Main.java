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
        // NOTE: passes log a line per pass at INFO for library users; the CLI prints its own
        // summary, so the log stays quiet unless SLIMNX_DEBUG asks for everything.
        java.util.logging.Logger.getLogger("").setLevel(System.getenv("SLIMNX_DEBUG") != null
                ? java.util.logging.Level.ALL : java.util.logging.Level.WARNING);
        CommandLine cl = SlimnxCommand.commandLine();
        int code = cl.execute(args);
        // NOTE: picocli's writers autoflush on println only; a command that ends with print() would
        // otherwise lose its last output at System.exit.
        cl.getOut().flush();
        cl.getErr().flush();
        System.exit(code);
    }
}
