package dev.slimnx.passes;

import java.util.List;

/**
 * A pass threw or broke the model. The message names the failing pass and the passes that ran
 * before it, which is what someone debugging a pipeline needs first.
 */
public class PassFailedException extends RuntimeException {
    private final String passId;
    private final List<String> ranBefore;

    /**
     * @param passId the pass that failed
     * @param ranBefore ids of the passes that ran before it, in order
     * @param problem what went wrong
     * @param cause the exception, or null
     */
    public PassFailedException(String passId, List<String> ranBefore, String problem, Throwable cause) {
        super("pass " + passId + " failed" + (ranBefore.isEmpty() ? "" : " (after " + String.join(", ", ranBefore) + ")")
                + ": " + problem, cause);
        this.passId = passId;
        this.ranBefore = List.copyOf(ranBefore);
    }

    /** @return the pass that failed */
    public String passId() {
        return passId;
    }

    /** @return the passes that ran before it */
    public List<String> ranBefore() {
        return ranBefore;
    }
}
