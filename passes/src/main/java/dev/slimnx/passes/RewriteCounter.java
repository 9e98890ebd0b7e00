package dev.slimnx.passes;

import java.util.LinkedHashMap;
import java.util.Map;

/** Counts rewrites by kind while a pass runs, then becomes its {@link PassResult}. */
public final class RewriteCounter {
    private final String passId;
    private final Map<String, Integer> counts = new LinkedHashMap<>();

    /** @param passId the pass whose rewrites are counted */
    public RewriteCounter(String passId) {
        this.passId = passId;
    }

    /** @param kind what was rewritten, e.g. {@code Conv+BatchNormalization} */
    public void count(String kind) {
        counts.merge(kind, 1, Integer::sum);
    }

    /**
     * @param kind what was counted, e.g. {@code clamped values}
     * @param times how many; 0 counts nothing
     * @throws IllegalArgumentException when {@code times} is negative
     */
    public void count(String kind, int times) {
        if (times < 0) {
            throw new IllegalArgumentException("negative count " + times + " for " + kind);
        }
        if (times > 0) {
            counts.merge(kind, times, Integer::sum);
        }
    }

    /**
     * @param kind what was rewritten
     * @param done true when a rewrite happened (the return of a {@code tryX} helper)
     * @return {@code done}
     */
    public boolean countIf(String kind, boolean done) {
        if (done) {
            count(kind);
        }
        return done;
    }

    /** @return true when anything was counted */
    public boolean any() {
        return !counts.isEmpty();
    }

    /** @return the result of the pass */
    public PassResult result() {
        return PassResult.of(passId, counts);
    }
}
