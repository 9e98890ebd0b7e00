package dev.slimnx.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;

/** The process-wide ONNX Runtime environment, created on first use. */
final class Ort {
    private Ort() {
    }

    /** Lazy holder: loading the native library costs ~100 ms, so only code that runs models pays it. */
    private static final class Holder {
        // NOTE: errors only; problems that matter reach the caller as exceptions with ORT's message,
        // and ORT's per-session warnings (e.g. unused initializers) would drown CI logs.
        static final OrtEnvironment ENV = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "slimnx");
    }

    /** @return the shared environment */
    static OrtEnvironment env() {
        return Holder.ENV;
    }
}
