package dev.slimnx.validate;

/** Receives progress of long work; the command line shows it as a bar on a terminal, CI sees nothing. */
@FunctionalInterface
public interface Progress {
    /** Ignores progress. */
    Progress NONE = (done, total, what) -> { };

    /**
     * @param done units done
     * @param total units in all, or -1 when unknown
     * @param what what is being done, e.g. {@code "accuracy"}
     */
    void update(long done, long total, String what);
}
