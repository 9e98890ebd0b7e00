package dev.slimnx.cli;

/**
 * A problem with what the user asked for (a missing file, an output that would overwrite the
 * input, an option out of range). Printed as one line; exit code {@link ExitCode#BAD_INPUT}.
 */
public final class UserError extends RuntimeException {
    /**
     * @param message the one-line message, naming the file or option and the problem
     */
    public UserError(String message) {
        super(message);
    }
}
