package dev.slimnx.graph.tensor;

import java.util.Objects;

/**
 * One key/value entry of ONNX's {@code StringStringEntryProto}, used for metadata and external-data
 * locations. Lists of pairs (not maps) keep order and repeated keys as the file had them.
 *
 * @param key the key
 * @param value the value
 * @param extra uninterpreted fields of the entry
 */
public record StringPair(String key, String value, OpaqueFields extra) {
    public StringPair {
        Objects.requireNonNull(key);
        Objects.requireNonNull(value);
        Objects.requireNonNull(extra);
    }

    /**
     * @param key the key
     * @param value the value
     */
    public StringPair(String key, String value) {
        this(key, value, OpaqueFields.NONE);
    }
}
