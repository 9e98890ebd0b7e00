package dev.slimnx.passes;

/**
 * A pass declines a model it does not support (for example control-flow subgraphs), before it
 * changes anything. The CLI reports it as bad input.
 */
public class PassRefusedException extends RuntimeException {
    private final String passId;

    /**
     * @param passId the pass that refused
     * @param reason why, in one line
     */
    public PassRefusedException(String passId, String reason) {
        super(passId + ": " + reason);
        this.passId = passId;
    }

    /** @return the id of the pass that refused */
    public String passId() {
        return passId;
    }
}
