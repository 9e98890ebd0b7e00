package dev.slimnx.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * An ONNX Runtime session for one model.
 *
 * <pre>{@code
 * try (ModelRunner runner = ModelRunner.open(model, RunOptions.reference())) {
 *     Map<String, Tensor> out = runner.run(Map.of("x", Tensor.ofFloats("x", new long[] {1, 8}, values)));
 * }
 * }</pre>
 *
 * <p>An IR model is serialized in memory and the session is created from the bytes. Models with
 * external-data tensors, and models over 2 GB, are written to a temporary folder instead, which
 * {@link #close()} deletes.
 *
 * <p>Inputs are checked against {@link #inputs()} before ONNX Runtime sees them, so a wrong name,
 * element type or shape gives a message that lists what the model expects. A runner may be used by
 * several threads at once (ONNX Runtime sessions are thread-safe); {@link #close()} waits for runs
 * in progress. After close every method throws {@link IllegalStateException}.
 */
public final class ModelRunner implements AutoCloseable {
    /** Protobuf's 2 GB limit, less headroom for the graph around the weights (as the writer reckons). */
    private static final long MAX_IN_MEMORY_BYTES = Integer.MAX_VALUE - (64L << 20);

    private final String modelName;
    private final RunOptions options;
    private final OrtSession session;
    private final Path tempDir;
    private final List<IoInfo> inputs;
    private final List<IoInfo> outputs;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    private ModelRunner(String modelName, RunOptions options, OrtSession session, Path tempDir,
                        List<IoInfo> inputs, List<IoInfo> outputs) {
        this.modelName = modelName;
        this.options = options;
        this.session = session;
        this.tempDir = tempDir;
        this.inputs = inputs;
        this.outputs = outputs;
    }

    /**
     * Creates a session for an IR model.
     *
     * @param model the model; not changed, and not needed by the runner afterwards
     * @param options provider, threads, optimization level
     * @return the runner
     * @throws RuntimeFailure if the provider is unavailable, ONNX Runtime refuses the model, or a
     *     temporary file cannot be written
     */
    public static ModelRunner open(Model model, RunOptions options) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        String name = nameOf(model);
        checkProvider(options, name);
        if (!needsFile(model)) {
            byte[] bytes = OnnxWriter.toBytes(model);
            return create(name, options, null, opts -> Ort.env().createSession(bytes, opts));
        }
        // NOTE: ORT resolves external data against the model's folder, so such models go through a
        // file; the writer copies kept external regions next to it (or externalizes a >2 GB model).
        Path dir;
        try {
            dir = Files.createTempDirectory("slimnx-runner-");
        } catch (IOException e) {
            throw new RuntimeFailure(RuntimeFailure.Kind.IO, name, "cannot create a temporary folder: " + e, e);
        }
        try {
            Path file = dir.resolve("model.onnx");
            OnnxWriter.write(model, file);
            return create(name, options, dir, opts -> Ort.env().createSession(file.toString(), opts));
        } catch (IOException e) {
            deleteTree(dir);
            throw new RuntimeFailure(RuntimeFailure.Kind.IO, name, "cannot write the model to " + dir + ": " + e, e);
        } catch (RuntimeException e) {
            deleteTree(dir);
            throw e;
        }
    }

    /**
     * Creates a session for an ONNX file as it is on disk (external data resolves against its folder).
     *
     * @param file the model file
     * @param options provider, threads, optimization level
     * @return the runner
     * @throws RuntimeFailure if the file does not exist, the provider is unavailable, or ONNX Runtime
     *     refuses the model
     */
    public static ModelRunner open(Path file, RunOptions options) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(options, "options");
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new RuntimeFailure(RuntimeFailure.Kind.IO, name, "no such file", null);
        }
        checkProvider(options, name);
        String path = file.toAbsolutePath().toString();
        return create(name, options, null, opts -> Ort.env().createSession(path, opts));
    }

    /**
     * Lets ONNX Runtime optimize the model at the given level and save what it would run: the
     * yardstick for slimnx's own passes ("no more nodes than ONNX Runtime's offline basic level
     * leaves"). At levels above basic the file may hold ONNX Runtime's contrib ops and be tied to
     * this machine's CPU features.
     *
     * @param model the model (without external data)
     * @param options provider and level; threads do not matter
     * @param target where to write the optimized model
     * @throws RuntimeFailure if ONNX Runtime refuses the model
     * @throws IllegalArgumentException if the model needs external data
     */
    public static void writeOptimized(Model model, RunOptions options, Path target) {
        if (needsFile(model)) {
            throw new IllegalArgumentException("writeOptimized takes models without external data");
        }
        byte[] bytes = OnnxWriter.toBytes(model);
        String out = target.toAbsolutePath().toString();
        try (ModelRunner ignored = create(nameOf(model), options, null, opts -> {
            opts.setOptimizedModelFilePath(out);
            return Ort.env().createSession(bytes, opts);
        })) {
            // the session wrote the file while it was created
        }
    }

    /**
     * The session option that makes ONNX Runtime save the optimized model as an ORT-format
     * (flatbuffer) file, the format of ONNX Runtime Mobile, instead of ONNX
     * ({@code kOrtSessionOptionsConfigSaveModelFormat} in onnxruntime_session_options_config_keys.h).
     */
    static final String SAVE_MODEL_FORMAT_KEY = "session.save_model_format";

    /**
     * Converts a model to ONNX Runtime's ORT format: ONNX Runtime loads it, optimizes it at the
     * given level on the CPU provider and serializes what it would run. This is what ONNX
     * Runtime's own {@code convert_onnx_models_to_ort} tool does, through the same session options.
     *
     * @param model the model (without external data)
     * @param level the graph optimization level baked into the file; {@link OptimizationLevel#BASIC}
     *     is the one that keeps the file portable (only ONNX ops, no CPU-specific fusions or layouts)
     * @param target where to write the .ort file
     * @throws RuntimeFailure if ONNX Runtime refuses the model
     * @throws IllegalArgumentException if the model needs external data
     */
    public static void writeOrtFormat(Model model, OptimizationLevel level, Path target) {
        if (needsFile(model)) {
            throw new IllegalArgumentException("writeOrtFormat takes models without external data");
        }
        byte[] bytes = OnnxWriter.toBytes(model);
        String out = target.toAbsolutePath().toString();
        RunOptions options = new RunOptions(ExecutionProvider.CPU, 1, level);
        try (ModelRunner ignored = create(nameOf(model), options, null, opts -> {
            opts.addConfigEntry(SAVE_MODEL_FORMAT_KEY, "ORT");
            opts.setOptimizedModelFilePath(out);
            return Ort.env().createSession(bytes, opts);
        })) {
            // the session wrote the file while it was created
        }
    }

    /**
     * @return true if models can run on CUDA here (GPU build, GPU present, CUDA libraries found)
     * @see ExecutionProvider#unavailableReason()
     */
    public static boolean cudaAvailable() {
        return ExecutionProvider.CUDA.isAvailable();
    }

    /** @return the version of the ONNX Runtime library in use, e.g. {@code 1.23.2} */
    public static String ortVersion() {
        return Ort.env().getVersion();
    }

    /** @return the model's name in messages: its file, or its graph's name */
    public String modelName() {
        return modelName;
    }

    /**
     * @return the options the session was created with
     * @throws IllegalStateException if closed
     */
    public RunOptions options() {
        checkOpen();
        return options;
    }

    /**
     * @return the inputs the caller must feed, in model order (initializers excluded)
     * @throws IllegalStateException if closed
     */
    public List<IoInfo> inputs() {
        checkOpen();
        return inputs;
    }

    /**
     * @return the model's outputs, in model order
     * @throws IllegalStateException if closed
     */
    public List<IoInfo> outputs() {
        checkOpen();
        return outputs;
    }

    /**
     * Runs the model and returns every output.
     *
     * @param feeds one tensor per input, by input name (the tensors' own names do not matter)
     * @return the outputs by name, in model order; tensors with their own heap storage
     * @throws RuntimeFailure if an input is missing, unknown, or of the wrong element type or
     *     shape, or if ONNX Runtime fails
     * @throws IllegalStateException if closed
     */
    public Map<String, Tensor> run(Map<String, Tensor> feeds) {
        return run(feeds, outputs.stream().map(IoInfo::name).toList());
    }

    /**
     * Runs the model and returns the chosen outputs.
     *
     * @param feeds one tensor per input, by input name
     * @param outputNames the outputs wanted
     * @return those outputs by name, in the order asked
     * @throws RuntimeFailure if an input is missing, unknown, or of the wrong element type or
     *     shape, if an output name is unknown, or if ONNX Runtime fails
     * @throws IllegalStateException if closed
     */
    public Map<String, Tensor> run(Map<String, Tensor> feeds, Collection<String> outputNames) {
        Objects.requireNonNull(feeds, "feeds");
        Objects.requireNonNull(outputNames, "outputNames");
        lock.readLock().lock();
        try {
            checkOpen();
            checkFeeds(feeds);
            Set<String> wanted = new LinkedHashSet<>(outputNames);
            for (String n : wanted) {
                if (outputs.stream().noneMatch(o -> o.name().equals(n))) {
                    throw failure(RuntimeFailure.Kind.INVALID_INPUT, "unknown output '" + n + "'; the model's outputs are "
                            + describe(outputs), null);
                }
            }
            return runChecked(feeds, wanted);
        } finally {
            lock.readLock().unlock();
        }
    }

    private Map<String, Tensor> runChecked(Map<String, Tensor> feeds, Set<String> wanted) {
        Map<String, OnnxTensor> ortInputs = new LinkedHashMap<>();
        try {
            for (IoInfo in : inputs) {
                ortInputs.put(in.name(), TensorBridge.toOrt(Ort.env(), feeds.get(in.name()), "input '" + in.name() + "'",
                        modelName));
            }
            try (OrtSession.Result result = session.run(ortInputs, wanted)) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (String n : wanted) {
                    OnnxValue v = result.get(n).orElseThrow(() -> failure(RuntimeFailure.Kind.RUN_FAILED,
                            "ONNX Runtime returned no value for output '" + n + "'", null));
                    out.put(n, TensorBridge.fromOrt(n, v, modelName));
                }
                return out;
            }
        } catch (OrtException e) {
            throw failure(RuntimeFailure.Kind.RUN_FAILED, "ONNX Runtime failed to run it: " + e.getMessage(), e);
        } finally {
            ortInputs.values().forEach(OnnxTensor::close);
        }
    }

    /** Checks names, element types, ranks and fixed dims, so ORT never sees an input it would reject. */
    private void checkFeeds(Map<String, Tensor> feeds) {
        List<String> unknown = feeds.keySet().stream()
                .filter(n -> inputs.stream().noneMatch(i -> i.name().equals(n))).sorted().toList();
        if (!unknown.isEmpty()) {
            throw failure(RuntimeFailure.Kind.INVALID_INPUT, "unknown input" + (unknown.size() > 1 ? "s " : " ")
                    + quoted(unknown) + "; the model's inputs are " + describe(inputs), null);
        }
        List<String> missing = inputs.stream().map(IoInfo::name).filter(n -> !feeds.containsKey(n)).toList();
        if (!missing.isEmpty()) {
            throw failure(RuntimeFailure.Kind.INVALID_INPUT, "missing input" + (missing.size() > 1 ? "s " : " ")
                    + quoted(missing) + "; the model's inputs are " + describe(inputs), null);
        }
        for (IoInfo in : inputs) {
            Tensor t = Objects.requireNonNull(feeds.get(in.name()), () -> "input '" + in.name() + "' is null");
            if (!in.isTensor()) {
                throw failure(RuntimeFailure.Kind.UNSUPPORTED_TYPE, "input '" + in.name() + "' is a " + in.kind()
                        + "; slimnx passes tensors only", null);
            }
            if (t.dataType() != in.elementType()) {
                throw failure(RuntimeFailure.Kind.INVALID_INPUT, "input '" + in.name() + "' has element type "
                        + t.dataType() + ", the model expects " + in, null);
            }
            Shape expected = in.shape();
            long[] dims = t.dims();
            if (dims.length != expected.rank()) {
                throw failure(RuntimeFailure.Kind.INVALID_INPUT, "input '" + in.name() + "' has shape "
                        + Arrays.toString(dims) + " (rank " + dims.length + "), the model expects " + in + " (rank "
                        + expected.rank() + ")", null);
            }
            for (int i = 0; i < dims.length; i++) {
                Dim d = expected.dim(i);
                if (d.isKnown() && d.value() >= 0 && d.value() != dims[i]) {
                    throw failure(RuntimeFailure.Kind.INVALID_INPUT, "input '" + in.name() + "' has shape "
                            + Arrays.toString(dims) + ", the model expects " + in + ": dim " + i + " must be " + d.value(),
                            null);
                }
            }
        }
    }

    /**
     * Closes the session and deletes the temporary model folder, if any. Waits for runs in
     * progress. Closing twice does nothing.
     *
     * @throws RuntimeFailure if ONNX Runtime fails to release the session
     */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                session.close();
            } catch (OrtException e) {
                throw failure(RuntimeFailure.Kind.RUN_FAILED, "ONNX Runtime failed to close the session: "
                        + e.getMessage(), e);
            } finally {
                if (tempDir != null) {
                    deleteTree(tempDir);
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** @return the temporary folder holding the model, or null when the session came from memory or the caller's file */
    Path tempDir() {
        return tempDir;
    }

    @Override
    public String toString() {
        return "ModelRunner[" + modelName + ", " + options + (closed ? ", closed]" : "]");
    }

    // ---- creation ----

    @FunctionalInterface
    private interface SessionFactory {
        OrtSession create(OrtSession.SessionOptions options) throws OrtException;
    }

    private static ModelRunner create(String name, RunOptions options, Path tempDir, SessionFactory factory) {
        OrtSession session = null;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(options.optimizationLevel().ortLevel());
            opts.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            if (!options.memoryArena()) {
                opts.setCPUArenaAllocator(false);
                opts.setMemoryPatternOptimization(false);
            }
            if (options.intraOpThreads() > 0) {
                opts.setIntraOpNumThreads(options.intraOpThreads());
            }
            if (options.provider() == ExecutionProvider.CUDA) {
                opts.addCUDA(0);
            }
            session = factory.create(opts);
            List<IoInfo> ins = describeAll(session.getInputInfo());
            List<IoInfo> outs = describeAll(session.getOutputInfo());
            return new ModelRunner(name, options, session, tempDir, ins, outs);
        } catch (OrtException e) {
            closeQuietly(session);
            throw new RuntimeFailure(RuntimeFailure.Kind.SESSION_FAILED, name,
                    "ONNX Runtime cannot load it: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private static List<IoInfo> describeAll(Map<String, NodeInfo> infos) {
        List<IoInfo> out = new ArrayList<>(infos.size());
        for (Map.Entry<String, NodeInfo> e : infos.entrySet()) {
            out.add(TensorBridge.ioInfo(e.getKey(), e.getValue()));
        }
        return List.copyOf(out);
    }

    private static void checkProvider(RunOptions options, String name) {
        options.provider().unavailableReason().ifPresent(reason -> {
            throw new RuntimeFailure(RuntimeFailure.Kind.PROVIDER_UNAVAILABLE, name, reason, null);
        });
    }

    /** True when the model has external-data tensors or is too big for one protobuf message. */
    private static boolean needsFile(Model model) {
        long inline = 0;
        Deque<Graph> graphs = new ArrayDeque<>();
        graphs.add(model.graph());
        model.functions().forEach(f -> graphs.add(f.body()));
        while (!graphs.isEmpty()) {
            Graph g = graphs.removeLast();
            for (Value v : g.initializers()) {
                Tensor t = v.initializer();
                if (t.isExternal()) {
                    return true;
                }
                inline += t.byteSize();
            }
            for (Node n : g.nodes()) {
                graphs.addAll(n.subgraphs());
                for (Attribute a : n.attributes()) {
                    for (Tensor t : tensorsOf(a)) {
                        if (t.isExternal()) {
                            return true;
                        }
                        inline += t.byteSize();
                    }
                }
            }
        }
        return inline > MAX_IN_MEMORY_BYTES;
    }

    private static List<Tensor> tensorsOf(Attribute a) {
        return switch (a.value()) {
            case Tensor t -> List.of(t);
            case List<?> list -> list.stream().filter(Tensor.class::isInstance).map(Tensor.class::cast).toList();
            case null, default -> List.of();
        };
    }

    private static String nameOf(Model model) {
        if (model.source() != null) {
            return model.source().toString();
        }
        String graphName = model.graph().name();
        return graphName.isEmpty() ? "<in-memory model>" : "'" + graphName + "'";
    }

    // ---- helpers ----

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("runner is closed (model " + modelName + ")");
        }
    }

    private RuntimeFailure failure(RuntimeFailure.Kind kind, String message, Throwable cause) {
        return new RuntimeFailure(kind, modelName, message, cause);
    }

    private static String describe(List<IoInfo> infos) {
        return infos.stream().map(IoInfo::toString).collect(Collectors.joining(", ", "[", "]"));
    }

    private static String quoted(List<String> names) {
        return names.stream().map(n -> "'" + n + "'").collect(Collectors.joining(", "));
    }

    private static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException ignored) {
                // the creation failure is what the caller needs to see
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // NOTE: best effort; a leftover temp folder must not hide the caller's real outcome
        }
    }
}
