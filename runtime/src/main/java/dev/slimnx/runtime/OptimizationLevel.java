package dev.slimnx.runtime;

import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;

/** ONNX Runtime's graph optimization levels. */
public enum OptimizationLevel {
    /** No graph rewrites: the model runs as written. What tests use to compare models exactly. */
    DISABLED(OptLevel.NO_OPT),
    /** Semantics-preserving rewrites such as constant folding and redundant-node removal. */
    BASIC(OptLevel.BASIC_OPT),
    /** BASIC plus fusions that may use ONNX Runtime's contrib ops. */
    EXTENDED(OptLevel.EXTENDED_OPT),
    /** Everything, including layout changes (ONNX Runtime's default). */
    ALL(OptLevel.ALL_OPT);

    private final OptLevel ortLevel;

    OptimizationLevel(OptLevel ortLevel) {
        this.ortLevel = ortLevel;
    }

    OptLevel ortLevel() {
        return ortLevel;
    }
}
