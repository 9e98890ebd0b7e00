package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;

/**
 * An operator-set import: a domain and its version.
 *
 * @param domain the domain; empty for the default ONNX domain
 * @param version the opset version
 * @param extra uninterpreted fields
 */
public record OpsetId(String domain, long version, OpaqueFields extra) {
    /** @return an import with no extra fields */
    public static OpsetId of(String domain, long version) {
        return new OpsetId(domain, version, OpaqueFields.NONE);
    }

    /** @return true for the default ONNX domain ({@code ""} or {@code ai.onnx}) */
    public boolean isOnnxDomain() {
        return domain.isEmpty() || domain.equals("ai.onnx");
    }
}
