package dev.slimnx.cli;

/** The exit codes every slimnx command uses (DESIGN.md, "Command line"). */
public final class ExitCode {
    /** The work is done. */
    public static final int OK = 0;
    /** A gate failed: the model was judged and found wanting. */
    public static final int GATE_FAILED = 1;
    /** Bad input or usage: a clear message was printed, nothing was written. */
    public static final int BAD_INPUT = 2;
    /** A bug in slimnx. */
    public static final int INTERNAL = 3;

    private ExitCode() {
    }
}
