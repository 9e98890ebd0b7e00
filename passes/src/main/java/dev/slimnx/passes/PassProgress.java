package dev.slimnx.passes;

/** Receives progress of long passes (calibration batches, fine-tuning steps). */
@FunctionalInterface
public interface PassProgress {
    /** Drops every update. */
    PassProgress NONE = (passId, done, total) -> {
    };

    /**
     * @param passId the pass reporting
     * @param done units of work done
     * @param total units of work in all, or -1 when unknown
     */
    void update(String passId, long done, long total);
}
