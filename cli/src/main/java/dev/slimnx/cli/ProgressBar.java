package dev.slimnx.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress bar on stderr, drawn only when stderr is a terminal and not in CI (the {@code CI}
 * environment variable), so logs stay clean.
 */
final class ProgressBar {
    private final PrintWriter err;
    private final boolean enabled;
    private long lastDraw;
    private boolean drawn;

    private ProgressBar(PrintWriter err, boolean enabled) {
        this.err = err;
        this.enabled = enabled;
    }

    static ProgressBar forTerminal(PrintWriter err) {
        boolean terminal = System.console() != null && System.console().isTerminal();
        boolean ci = System.getenv("CI") != null;
        return new ProgressBar(err, terminal && !ci);
    }

    /** @return a bar that never draws */
    static ProgressBar quiet(PrintWriter err) {
        return new ProgressBar(err, false);
    }

    void update(long done, long total, String what) {
        if (!enabled) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastDraw < 100_000_000L && done != total) {
            return;
        }
        lastDraw = now;
        drawn = true;
        if (total > 0) {
            int width = 30;
            int filled = (int) Math.min(width, width * done / total);
            err.printf(Locale.ROOT, "\r%-10s [%s%s] %d/%d", what, "#".repeat(filled), " ".repeat(width - filled), done, total);
        } else {
            err.printf(Locale.ROOT, "\r%-10s ...", what);
        }
        err.flush();
    }

    void done() {
        if (drawn) {
            err.print("\r" + " ".repeat(60) + "\r");
            err.flush();
            drawn = false;
        }
    }
}
