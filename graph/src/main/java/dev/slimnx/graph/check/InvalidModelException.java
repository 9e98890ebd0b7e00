package dev.slimnx.graph.check;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown by {@link GraphChecker#checkOrThrow} when a model has errors; the message lists them all. */
public final class InvalidModelException extends RuntimeException {
    private final transient List<Issue> errors;

    /** @param errors the errors found (at least one) */
    public InvalidModelException(List<Issue> errors) {
        super(errors.size() + " error(s) in the model:\n"
                + errors.stream().map(i -> "  " + i).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
    }

    /** @return the errors, in the order the checker found them */
    public List<Issue> errors() {
        return errors;
    }
}
