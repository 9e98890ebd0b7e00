package dev.slimnx.cli;

import dev.slimnx.graph.ModelFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns exceptions into one line on stderr and an exit code. Bad input (malformed models, missing
 * files, refused options) exits 2; anything else is a bug and exits 3, with the stack trace shown
 * only when {@code SLIMNX_DEBUG} is set.
 */
final class ErrorHandler implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        Throwable e = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        String message = userMessage(e);
        if (message != null) {
            err.println(cmd.getCommandSpec().qualifiedName() + ": " + message);
            err.flush();
            return ExitCode.BAD_INPUT;
        }
        err.println(cmd.getCommandSpec().qualifiedName() + ": internal error: " + e
                + " (set SLIMNX_DEBUG=1 for the stack trace, and please report it)");
        if (System.getenv("SLIMNX_DEBUG") != null) {
            e.printStackTrace(err);
        }
        err.flush();
        return ExitCode.INTERNAL;
    }

    /** @return the one-line message for an error the user can fix, or null for a bug */
    static String userMessage(Throwable e) {
        return switch (e) {
            case UserError u -> u.getMessage();
            case ModelFormatException m -> m.getMessage();
            case NoSuchFileException n -> n.getFile() + ": no such file";
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case FileSystemException f -> f.getFile() + ": " + f.getReason();
            case IOException io -> io.getMessage();
            default -> null;
        };
    }
}
