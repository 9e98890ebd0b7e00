package dev.slimnx.runtime;

import java.util.Objects;

/**
 * A model could not be run. The message names the model and says what went wrong in words a user
 * can act on; for ONNX Runtime errors it ends with ONNX Runtime's own message.
 *
 * <p>NOTE: unchecked, like {@code ModelFormatException}'s callers expect of runtime problems: a
 * command maps it to exit code 2 (bad input) or 3, and library code rarely can recover from it.
 */
public class RuntimeFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What kind of failure it is, so callers (and the conformance suite) can tell them apart. */
    public enum Kind {
        /** The requested execution provider is not part of this build or has no device. */
        PROVIDER_UNAVAILABLE,
        /** ONNX Runtime refused the model (unknown op, invalid graph, unsupported opset...). */
        SESSION_FAILED,
        /** The inputs given do not match the model's inputs (names, element types, shapes). */
        INVALID_INPUT,
        /** An element type or value kind the ONNX Runtime Java API cannot exchange. */
        UNSUPPORTED_TYPE,
        /** ONNX Runtime failed while running the model. */
        RUN_FAILED,
        /** A temporary model file could not be written. */
        IO
    }

    private final Kind kind;
    private final String model;

    /**
     * @param kind what kind of failure
     * @param model the model's name (file or graph name)
     * @param message what went wrong
     * @param cause the underlying exception, or null
     */
    public RuntimeFailure(Kind kind, String model, String message, Throwable cause) {
        super("model " + model + ": " + message, cause);
        this.kind = Objects.requireNonNull(kind);
        this.model = Objects.requireNonNull(model);
    }

    /** @return what kind of failure this is */
    public Kind kind() {
        return kind;
    }

    /** @return the name of the model that failed */
    public String model() {
        return model;
    }
}
