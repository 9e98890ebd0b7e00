package dev.slimnx.graph.tensor;

import java.util.Objects;

/**
 * One dimension of a shape: a known size, a symbolic name (such as {@code batch}), or unknown.
 *
 * <p>Dims compare by kind and value; the optional ONNX denotation does not take part in equality,
 * since two dims of the same size are interchangeable for inference whatever they are called.
 */
public final class Dim {
    private static final Dim UNKNOWN = new Dim(Kind.UNKNOWN, 0, null, "", OpaqueFields.NONE);

    /** What a dim says about its size. */
    public enum Kind { KNOWN, SYMBOLIC, UNKNOWN }

    private final Kind kind;
    private final long value;
    private final String param;
    private final String denotation;
    private final OpaqueFields extra;

    private Dim(Kind kind, long value, String param, String denotation, OpaqueFields extra) {
        this.kind = kind;
        this.value = value;
        this.param = param;
        this.denotation = Objects.requireNonNull(denotation);
        this.extra = Objects.requireNonNull(extra);
    }

    /**
     * @param value the size; negative sizes are kept as read (some exporters write -1 for unknown)
     * @return a dim of known size
     */
    public static Dim of(long value) {
        return new Dim(Kind.KNOWN, value, null, "", OpaqueFields.NONE);
    }

    /**
     * @param name the symbol, e.g. {@code batch}
     * @return a symbolic dim
     */
    public static Dim symbolic(String name) {
        return new Dim(Kind.SYMBOLIC, 0, Objects.requireNonNull(name), "", OpaqueFields.NONE);
    }

    /** @return a dim of unknown size */
    public static Dim unknown() {
        return UNKNOWN;
    }

    /**
     * @param denotation the ONNX dimension denotation, e.g. {@code DATA_BATCH}
     * @return this dim with that denotation
     */
    public Dim withDenotation(String denotation) {
        return new Dim(kind, value, param, denotation, extra);
    }

    /**
     * @param fields uninterpreted fields of the file's {@code Dimension} message
     * @return this dim carrying them (they take no part in equality)
     */
    public Dim withExtra(OpaqueFields fields) {
        return new Dim(kind, value, param, denotation, fields);
    }

    /** @return uninterpreted fields of the {@code Dimension} message */
    public OpaqueFields extra() {
        return extra;
    }

    public Kind kind() {
        return kind;
    }

    /** @return true if the size is a known number */
    public boolean isKnown() {
        return kind == Kind.KNOWN;
    }

    /** @return true if the size is a named symbol */
    public boolean isSymbolic() {
        return kind == Kind.SYMBOLIC;
    }

    /**
     * @return the known size
     * @throws IllegalStateException if the size is not known
     */
    public long value() {
        if (kind != Kind.KNOWN) {
            throw new IllegalStateException("dim " + this + " has no known size");
        }
        return value;
    }

    /**
     * @return the symbol
     * @throws IllegalStateException if the dim is not symbolic
     */
    public String param() {
        if (kind != Kind.SYMBOLIC) {
            throw new IllegalStateException("dim " + this + " is not symbolic");
        }
        return param;
    }

    /** @return the denotation, empty when none */
    public String denotation() {
        return denotation;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dim d && d.kind == kind && d.value == value && Objects.equals(d.param, param);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, value, param);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case KNOWN -> Long.toString(value);
            case SYMBOLIC -> param;
            case UNKNOWN -> "?";
        };
    }
}
