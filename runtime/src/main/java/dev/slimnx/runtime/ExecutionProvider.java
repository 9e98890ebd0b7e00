package dev.slimnx.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/** Where ONNX Runtime runs a model. */
public enum ExecutionProvider {
    /** ONNX Runtime's CPU kernels; always available. */
    CPU,
    /** NVIDIA GPUs through CUDA; needs the GPU build of slimnx and a working CUDA 12 + cuDNN 9 setup. */
    CUDA;

    /** What to tell a user whose slimnx was built with the CPU-only ONNX Runtime. */
    static final String CUDA_NOT_IN_BUILD = "the CUDA execution provider is not available: this slimnx was built"
            + " with the CPU-only ONNX Runtime (com.microsoft.onnxruntime:onnxruntime). Rebuild with `mvn -Pgpu ...`"
            + " to use onnxruntime_gpu, which needs an NVIDIA GPU and driver, CUDA 12 and cuDNN 9 on the library path";

    /**
     * Says whether models can run on this provider here. For CUDA the answer comes from creating a
     * one-node session on the GPU (once per process), since a GPU build may still lack a device or
     * the CUDA libraries.
     *
     * @return true if {@link ModelRunner#open} will accept this provider
     */
    public boolean isAvailable() {
        return unavailableReason().isEmpty();
    }

    /**
     * @return why this provider cannot be used, with what to do about it; empty when it can
     */
    public Optional<String> unavailableReason() {
        return this == CPU ? Optional.empty() : CudaProbe.REASON;
    }

    /**
     * @param name {@code cpu} or {@code cuda}, any case (as given to {@code --ep})
     * @return the provider
     * @throws IllegalArgumentException naming the accepted values if the name is unknown
     */
    public static ExecutionProvider fromName(String name) {
        for (ExecutionProvider p : values()) {
            if (p.name().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown execution provider '" + name + "'; expected one of "
                + Arrays.stream(values()).map(p -> p.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }

    /** Probes CUDA once, on first use. */
    private static final class CudaProbe {
        static final Optional<String> REASON = probe();

        private static Optional<String> probe() {
            try {
                if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                    return Optional.of(CUDA_NOT_IN_BUILD);
                }
                GraphBuilder b = new GraphBuilder(17);
                b.output(b.op("Identity", b.input("x", DataType.FLOAT, 1)));
                Model tiny = b.build();
                try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                    options.addCUDA(0);
                    OrtSession session = Ort.env().createSession(OnnxWriter.toBytes(tiny), options);
                    session.close();
                    return Optional.empty();
                }
            } catch (OrtException | RuntimeException | LinkageError e) {
                return Optional.of("the CUDA execution provider could not start (" + e.getMessage() + "). It needs an"
                        + " NVIDIA GPU and driver, CUDA 12 and cuDNN 9 on the library path (LD_LIBRARY_PATH)");
            }
        }
    }
}
