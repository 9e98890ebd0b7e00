package dev.slimnx.graph.io;

import java.util.Objects;

/**
 * Where the writer puts tensor data.
 *
 * @param mode what to do
 * @param sizeThreshold with EXTERNALIZE: initializers of at least this many bytes go external
 * @param location with EXTERNALIZE: the data file name, relative to the model's folder
 */
public record ExternalDataPolicy(Mode mode, long sizeThreshold, String location) {
    /** What the writer does with tensor data. */
    public enum Mode {
        /** Tensors stay as they are: inline ones inline, external ones at the same location and offset. */
        KEEP,
        /** Every tensor inline (the file must stay under 2 GB). */
        INLINE,
        /** Initializers of at least {@code sizeThreshold} bytes go into one data file next to the model. */
        EXTERNALIZE
    }

    /** Default threshold, the one ONNX's own tools use. */
    public static final long DEFAULT_THRESHOLD = 1024;

    public ExternalDataPolicy {
        Objects.requireNonNull(mode);
        if (sizeThreshold < 0) {
            throw new IllegalArgumentException("size threshold must be >= 0, got " + sizeThreshold);
        }
    }

    /** @return keep the layout as read */
    public static ExternalDataPolicy keep() {
        return new ExternalDataPolicy(Mode.KEEP, DEFAULT_THRESHOLD, "");
    }

    /** @return everything inline */
    public static ExternalDataPolicy inline() {
        return new ExternalDataPolicy(Mode.INLINE, DEFAULT_THRESHOLD, "");
    }

    /**
     * @param threshold bytes from which an initializer goes external
     * @param location data file name next to the model
     * @return move large initializers into {@code location}
     */
    public static ExternalDataPolicy externalize(long threshold, String location) {
        return new ExternalDataPolicy(Mode.EXTERNALIZE, threshold, location);
    }
}
