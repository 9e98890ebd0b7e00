package dev.slimnx.cli;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.io.AtomicFiles;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.runtime.RuntimeFailure;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.SyntheticDataset;
import dev.slimnx.validate.report.Reports;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx export}: the file a phone app ships. {@code --format onnx} writes the model (with
 * {@code --fix-shape} and {@code --target-opset} applied); {@code --format ort} writes ONNX
 * Runtime Mobile's ORT format through ONNX Runtime's own serializer, and
 * {@code required_operators.config} beside it for a reduced-operator runtime build. Either way the
 * written file is loaded back by ONNX Runtime and its outputs compared with the input model's on
 * the same random inputs before anything is moved into place. {@code --check-mobile} reports which
 * nodes the phone execution providers would take ({@link MobileCheck}).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Export a model for phones: ONNX Runtime Mobile's ORT format (plus required_operators.config"
                + " for a reduced build) or ONNX.",
                "The written file is loaded back by ONNX Runtime and must give the input model's outputs (rtol 1e-4,"
                        + " atol 1e-5) on random inputs before the command reports success; otherwise nothing is written.",
                "--check-mobile nnapi,coreml shows which nodes each phone execution provider would take."})
public final class ExportCommand implements Callable<Integer> {
    /** The file ONNX Runtime's reduced build reads, written next to an ORT export. */
    static final String OPERATOR_CONFIG = "required_operators.config";
    /** The version tag of the JSON written by {@code --report}. */
    static final String SCHEMA = "slimnx.export/1";
    static final double RTOL = 1e-4;
    static final double ATOL = 1e-5;
    /** Random input sets compared in the round trip. */
    static final int ROUND_TRIP_RUNS = 2;
    /**
     * NOTE: BASIC, not EXTENDED or ALL. Basic rewrites (constant folding, redundant node removal)
     * keep the graph in ONNX ops; extended adds com.microsoft fusions (FusedConv, FastGelu,
     * SkipLayerNormalization...) whose kernels a mobile or reduced build may lack, and "all" adds
     * NCHWc layouts tied to the x86 CPU that converted the model. ONNX Runtime's mobile
     * performance-tuning page (docs/performance/mobile-performance-tuning) says the same: basic
     * uses only ONNX ops, so NNAPI and CoreML can still take every node they support, while
     * extended-level fusions hide nodes from them in contrib ops they do not have.
     */
    static final OptimizationLevel ORT_LEVEL = OptimizationLevel.BASIC;

    @Spec
    CommandSpec spec;

    /** Applied to a copy of the model just before it is written; tests replace it to break the round trip. */
    java.util.function.UnaryOperator<Model> beforeWrite = java.util.function.UnaryOperator.identity();

    @Parameters(index = "0", paramLabel = "MODEL", description = "the ONNX model to export")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT",
            description = "the file to write (.ort for --format ort); required unless only --check-mobile is asked")
    Path output;

    @Option(names = "--format", paramLabel = "ort|onnx",
            description = "ort: ONNX Runtime Mobile's flatbuffer format, optimized at the basic level; onnx: the model"
                    + " itself (default: onnx when OUT ends in .onnx, else ort)")
    String format;

    @Option(names = "--fix-shape", paramLabel = "NAME=D1xD2...",
            description = "make an input's symbolic dims static, e.g. input=1x1x28x28 (repeatable); shapes are re-inferred")
    List<String> fixShapes = new ArrayList<>();

    @Option(names = "--target-opset", paramLabel = "N",
            description = "move the model to ONNX opset N where every op used keeps its meaning (7..21); other ops are refused by name")
    Integer targetOpset;

    @Option(names = "--check-mobile", split = ",", paramLabel = "EP[,EP...]", hideParamSyntax = true,
            description = "execution providers to check the exported graph against: nnapi, coreml")
    List<String> checkMobile = new ArrayList<>();

    @Option(names = "--report", paramLabel = "FILE.json", description = "with --check-mobile: write the check as JSON")
    Path report;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "seed of the round trip's random inputs")
    long seed;

    @Option(names = "--force", description = "allow OUT to be the input file itself")
    boolean force;

    @Override
    public Integer call() throws Exception {
        String fmt = format != null ? format.toLowerCase(Locale.ROOT)
                : output != null && output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".onnx") ? "onnx"
                : "ort";
        if (!fmt.equals("ort") && !fmt.equals("onnx")) {
            throw new UserError("--format must be ort or onnx, got '" + format + "'");
        }
        List<MobileSupport> providers = MobileSupport.parseList(checkMobile);
        if (report != null && providers.isEmpty()) {
            throw new UserError("--report only applies with --check-mobile");
        }
        if (output == null && providers.isEmpty()) {
            throw new UserError("give -o OUT (or --check-mobile EP to only check the model)");
        }
        if (!Files.isRegularFile(input)) {
            throw new UserError(input + ": no such file");
        }
        Map<String, long[]> fixed = parseFixShapes(fixShapes);
        if (output != null) {
            OutputFiles.check(input, output, force);
            // NOTE: ONNX Runtime picks the format of a model it loads from a path by the extension,
            // so a name that says the other format would make the file fail to load on the phone.
            boolean ortName = output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".ort");
            if (ortName != fmt.equals("ort")) {
                throw new UserError(output + ": --format " + fmt + " writes " + (fmt.equals("ort")
                        ? "an ORT-format file; name it *.ort" : "ONNX; a *.ort name would make ONNX Runtime read it as"
                        + " ORT format") + " (ONNX Runtime picks the format by the extension)");
            }
        }
        if (report != null) {
            OutputFiles.check(input, report, false);
        }
        Model original = OnnxReader.read(input);
        Model model = original.copy();
        PrintWriter out = spec.commandLine().getOut();
        if (!fixed.isEmpty()) {
            fixShapes(model, fixed, input);
            out.println("fixed input shapes: " + describeInputs(model));
        }
        if (targetOpset != null) {
            List<String> changes = OpsetConversion.convert(model, targetOpset, input);
            out.printf("opset %d -> %d%s%n", original.opsetVersion(""), targetOpset,
                    changes.isEmpty() ? "" : ": " + String.join("; ", changes));
        }
        // NOTE: ONNX Runtime applies its basic optimizations before it partitions the graph between
        // providers, so the phone's providers see the model at that level: the ORT file's content, and
        // what --check-mobile must judge (constant-folded shape chains no longer count against NNAPI).
        Model asRun = fmt.equals("ort") || !providers.isEmpty() ? optimizedAtOrtLevel(model) : null;
        if (output != null) {
            int code = export(original, model, asRun, fmt, out);
            if (code != ExitCode.OK) {
                return code;
            }
        }
        if (!providers.isEmpty()) {
            MobileCheck.Result check = MobileCheck.run(asRun, providers);
            check.print(out);
            if (report != null) {
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("schema", SCHEMA);
                json.put("model", input.toString());
                json.put("output", output == null ? null : output.toString());
                Map<String, Object> shapes = new LinkedHashMap<>();
                fixed.forEach((name, dims) -> shapes.put(name, dims));
                json.put("fixed_shapes", shapes);
                json.put("target_opset", targetOpset);
                json.putAll(check.toJson());
                AtomicFiles.write(report, tmp -> Reports.json().writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), json));
                out.println("wrote " + report);
            }
        }
        return ExitCode.OK;
    }

    /** Writes OUT (and the operator config) through temporary files, checked before they move into place. */
    private int export(Model original, Model model, Model asRun, String fmt, PrintWriter out) throws IOException {
        // NOTE: ONNX Runtime tells an ORT-format file from an ONNX one by the .ort extension when it
        // loads from a path, so the temporary file the round trip loads must end in .ort.
        Path tmp = fmt.equals("ort") ? ortTemp(output) : AtomicFiles.temp(output);
        Path configTarget = output.toAbsolutePath().resolveSibling(OPERATOR_CONFIG);
        Path configTmp = null;
        Model toWrite = beforeWrite.apply(model.copy());
        try {
            if (fmt.equals("onnx")) {
                OnnxWriter.write(toWrite, tmp, ExternalDataPolicy.inline());
            } else {
                try {
                    ModelRunner.writeOrtFormat(toWrite, ORT_LEVEL, tmp);
                } catch (RuntimeFailure e) {
                    throw new UserError(input + ": ONNX Runtime cannot convert it: " + firstLine(e.getMessage()));
                }
                configTmp = AtomicFiles.temp(configTarget);
                Files.writeString(configTmp, operatorConfig(asRun));
            }
            List<String> problems = roundTrip(original, model, tmp);
            if (!problems.isEmpty()) {
                PrintWriter err = spec.commandLine().getErr();
                err.printf("%s: the exported model's outputs differ from %s's (rtol %.0e / atol %.0e); %s was not"
                        + " written%n", spec.qualifiedName(), input, RTOL, ATOL, output);
                problems.forEach(p -> err.println("  " + p));
                return ExitCode.GATE_FAILED;
            }
            AtomicFiles.move(tmp, output);
            out.printf("wrote %s (%s, %s format%s)%n", output, Format.bytes(Files.size(output)), fmt,
                    fmt.equals("ort") ? ", optimization level " + ORT_LEVEL.name().toLowerCase(Locale.ROOT) : "");
            if (configTmp != null) {
                AtomicFiles.move(configTmp, configTarget);
                out.printf("wrote %s (the operators a reduced ONNX Runtime build needs for it)%n", output.resolveSibling(OPERATOR_CONFIG));
            }
            out.printf("round trip: ONNX Runtime loaded %s; outputs match %s within rtol %.0e / atol %.0e on %d random"
                    + " input sets%s%n", output.getFileName(), input.getFileName(), RTOL, ATOL, ROUND_TRIP_RUNS,
                    realImages == 0 ? "" : " and " + realImages + " test image" + (realImages == 1 ? "" : "s"));
            return ExitCode.OK;
        } finally {
            Files.deleteIfExists(tmp);
            if (configTmp != null) {
                Files.deleteIfExists(configTmp);
            }
        }
    }

    /** An empty file next to {@code target} whose name ends in {@code .ort}. */
    private static Path ortTemp(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        for (int attempt = 0; ; attempt++) {
            Path tmp = absolute.resolveSibling("." + absolute.getFileName() + "."
                    + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong()) + ".tmp.ort");
            try {
                return Files.createFile(tmp);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    // ---- --fix-shape ----

    /** {@code input=1x1x28x28} → {input: [1, 1, 28, 28]}, in the order given. */
    static Map<String, long[]> parseFixShapes(List<String> given) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String s : given) {
            int eq = s.indexOf('=');
            String usage = "--fix-shape wants NAME=D1xD2... with positive sizes, e.g. input=1x1x28x28, got '" + s + "'";
            if (eq <= 0 || eq == s.length() - 1) {
                throw new UserError(usage);
            }
            String[] parts = s.substring(eq + 1).split("x", -1);
            long[] dims = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    dims[i] = Long.parseLong(parts[i].trim());
                } catch (NumberFormatException e) {
                    throw new UserError(usage);
                }
                if (dims[i] <= 0) {
                    throw new UserError(usage);
                }
            }
            if (out.put(s.substring(0, eq), dims) != null) {
                throw new UserError("--fix-shape gives '" + s.substring(0, eq) + "' twice");
            }
        }
        return out;
    }

    /**
     * Gives the named inputs static shapes (and every other input the same size for a symbol they
     * share), then re-infers: graph outputs and {@code value_info}
     * entries whose declared shape still holds symbols take the inferred one where it is static.
     */
    static void fixShapes(Model model, Map<String, long[]> fixed, Path file) {
        Graph g = model.graph();
        Map<String, Long> symbols = new LinkedHashMap<>();
        List<String> names = g.inputs().stream().filter(v -> !v.isInitializer()).map(Value::name).toList();
        for (Map.Entry<String, long[]> e : fixed.entrySet()) {
            Value in = g.inputs().stream().filter(v -> v.name().equals(e.getKey())).findFirst()
                    .orElseThrow(() -> new UserError("--fix-shape names '" + e.getKey() + "', which is not an input of "
                            + file + "; the inputs are " + names));
            if (!(in.type() instanceof ValueType.TensorType t)) {
                throw new UserError(file + ": input '" + in.name() + "' is not a tensor; --fix-shape cannot fix it");
            }
            long[] dims = e.getValue();
            Shape declared = t.shape();
            if (declared != null) {
                if (declared.rank() != dims.length) {
                    throw new UserError("--fix-shape " + in.name() + " gives " + dims.length + " dims, the input is "
                            + declared + " (rank " + declared.rank() + ")");
                }
                for (int i = 0; i < dims.length; i++) {
                    Dim d = declared.dim(i);
                    if (d.isKnown() && d.value() != dims[i]) {
                        throw new UserError("--fix-shape " + in.name() + " gives " + dims[i] + " at axis " + i
                                + ", the input has " + d.value() + " there " + declared);
                    }
                }
            }
            in.setType(t.withShape(Shape.of(dims)));
            if (declared != null) {
                for (int i = 0; i < dims.length; i++) {
                    if (declared.dim(i).isSymbolic()) {
                        symbols.putIfAbsent(declared.dim(i).param(), dims[i]);
                    }
                }
            }
        }
        // NOTE: a symbol names one size everywhere (NaViT's 'seq' is shared by four inputs), so
        // the other inputs that use a symbol just fixed take its size too.
        for (Value in : g.inputs()) {
            if (!fixed.containsKey(in.name()) && in.type() instanceof ValueType.TensorType t && t.shape() != null) {
                List<Dim> dims = new ArrayList<>();
                boolean changed = false;
                for (Dim d : t.shape().dims()) {
                    Long size = d.isSymbolic() ? symbols.get(d.param()) : null;
                    dims.add(size == null ? d : Dim.of(size));
                    changed |= size != null;
                }
                if (changed) {
                    in.setType(t.withShape(Shape.of(dims)));
                }
            }
        }
        InferenceResult inferred = ShapeInference.infer(model);
        List<Value> declaredValues = new ArrayList<>(g.outputs());
        declaredValues.addAll(g.valueInfos());
        for (Value v : declaredValues) {
            if (v.type() instanceof ValueType.TensorType t && (t.shape() == null || !t.shape().isStatic())) {
                Shape s = inferred.shapeOf(v);
                if (s != null && s.isStatic()) {
                    v.setType(t.withShape(s));
                }
            }
        }
    }

    private static String describeInputs(Model model) {
        List<String> parts = new ArrayList<>();
        for (Value v : model.graph().inputs()) {
            if (!v.isInitializer()) {
                parts.add(v.name() + " " + v.shape());
            }
        }
        return String.join(", ", parts);
    }

    // ---- required_operators.config ----

    /** The model as ONNX Runtime optimizes it at {@link #ORT_LEVEL}, read back: the ops the ORT file holds. */
    private Model optimizedAtOrtLevel(Model model) throws IOException {
        Path tmp = Files.createTempFile("slimnx-export-", ".onnx");
        try {
            ModelRunner.writeOptimized(model, new RunOptions(dev.slimnx.runtime.ExecutionProvider.CPU, 1, ORT_LEVEL), tmp);
            return OnnxReader.read(Files.readAllBytes(tmp), tmp.toString());
        } catch (IllegalArgumentException e) {
            throw new UserError(input + ": has external data; export takes models with their weights inline"
                    + " (slimnx convert --no-external-data)");
        } catch (RuntimeFailure e) {
            throw new UserError(input + ": ONNX Runtime cannot load it: " + firstLine(e.getMessage()));
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * ONNX Runtime's reduced-build configuration: one line per (domain, opset) with the op types
     * used, {@code ai.onnx;17;Add,Conv,...}, the format its {@code create_reduced_build_config.py}
     * writes (without type reduction). Subgraph ops count.
     *
     * @param model the model as it will run
     * @return the file's text
     */
    static String operatorConfig(Model model) {
        Map<String, TreeSet<String>> byDomain = new TreeMap<>();
        for (Node n : model.graph().allNodes()) {
            String domain = n.domain().isEmpty() || n.domain().equals("ai.onnx") ? "ai.onnx" : n.domain();
            byDomain.computeIfAbsent(domain, k -> new TreeSet<>()).add(n.opType());
        }
        StringBuilder sb = new StringBuilder("# Generated by slimnx export: the operators ONNX Runtime needs for this"
                + " model\n# (format: domain;opset;Op1,Op2,... as read by ONNX Runtime's reduced operator build)\n");
        for (Map.Entry<String, TreeSet<String>> e : byDomain.entrySet()) {
            long opset = model.opsetVersion(e.getKey().equals("ai.onnx") ? "" : e.getKey());
            sb.append(e.getKey()).append(';').append(opset).append(';').append(String.join(",", e.getValue())).append('\n');
        }
        return sb.toString();
    }

    // ---- round trip ----

    /**
     * Runs the input model and the written file on the same inputs and compares every output: for
     * a reference model a batch of its test images, then random inputs (symbolic dims at the sizes
     * {@code --fix-shape} gave, others 1).
     *
     * @return one line per problem; empty when everything matched
     */
    private List<String> roundTrip(Model original, Model exported, Path written) {
        RunOptions options = RunOptions.reference();
        List<String> problems = new ArrayList<>();
        try (ModelRunner a = ModelRunner.open(original, options);
             ModelRunner b = ModelRunner.open(written, options)) {
            SplittableRandom random = new SplittableRandom(seed);
            List<Map<String, Tensor>> inputSets = new ArrayList<>();
            Map<String, Tensor> real = referenceImages(exported);
            if (real != null) {
                inputSets.add(real);
                realImages = (int) real.values().iterator().next().dims()[0];
            }
            for (int run = 0; run < ROUND_TRIP_RUNS; run++) {
                inputSets.add(randomFeeds(exported, random));
            }
            for (Map<String, Tensor> feeds : inputSets) {
                if (!problems.isEmpty()) {
                    break;
                }
                Map<String, Tensor> expected = a.run(feeds);
                Map<String, Tensor> actual = b.run(feeds);
                for (Map.Entry<String, Tensor> e : expected.entrySet()) {
                    String p = compare(e.getKey(), e.getValue(), actual.get(e.getKey()));
                    if (p != null) {
                        problems.add(p);
                    }
                }
            }
        } catch (RuntimeFailure e) {
            problems.add("ONNX Runtime: " + firstLine(e.getMessage()));
        }
        return problems;
    }

    /** Test images the round trip compared on (0 when the input is not a reference model). */
    private int realImages;

    /**
     * For a reference model with one image input: a batch of its committed test images, as big as
     * the exported input's batch dim allows (8 when it is symbolic); otherwise null.
     */
    private Map<String, Tensor> referenceImages(Model exported) {
        try {
            ReferenceModels registry = ReferenceModels.locate();
            java.util.Optional<ReferenceModel> ref = registry.identify(input);
            List<Value> inputs = exported.graph().inputs().stream().filter(v -> !v.isInitializer()).toList();
            // NOTE: the committed test images are the classifiers' inputs; DETR's canvases and
            // NaViT's packed stream are built from them differently, so those use random inputs only.
            if (ref.isEmpty() || inputs.size() != 1 || ref.get().inputs().size() != 1
                    || ref.get().task() == ReferenceModel.Task.PACKED || ref.get().task() == ReferenceModel.Task.DETECTION) {
                return null;
            }
            ReferenceModel.Preprocessing p = ref.get().inputs().get(0).preprocessing();
            DataSpec spec = DataSpec.images(registry.dataFile("test_images"), "test",
                    new ImagePreprocessing(p.scale(), p.mean(), p.std()));
            Shape shape = inputs.get(0).shape();
            int batch = shape != null && shape.rank() > 0 && shape.dim(0).isKnown() ? (int) shape.dim(0).value() : 8;
            try (Dataset d = Datasets.open(spec, exported, "test")) {
                Batch first = d.next(batch);
                if (first == null || first.size() != batch || first.inputs().size() != 1) {
                    return null;
                }
                long[] dims = first.inputs().values().iterator().next().dims();
                if (shape == null || dims.length != shape.rank()) {
                    return null;
                }
                for (int i = 1; i < dims.length; i++) {
                    if (shape.dim(i).isKnown() && shape.dim(i).value() != dims[i]) {
                        return null;
                    }
                }
                return Map.of(inputs.get(0).name(), first.inputs().values().iterator().next());
            }
        } catch (IOException | RuntimeException e) {
            // NOTE: real images are a bonus over the random inputs; without them the check still runs
            return null;
        }
    }

    /** Standard normal floats, zero integers (indices stay in range), as validate's synthetic data. */
    static Map<String, Tensor> randomFeeds(Model model, SplittableRandom random) {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (Value in : model.graph().inputs()) {
            if (in.isInitializer()) {
                continue;
            }
            DataType type = in.elemType();
            if (type == null || type == DataType.STRING || type.bits() < 8) {
                throw new UserError(input(model) + ": input '" + in.name() + "' has element type " + type
                        + "; the round trip cannot feed it");
            }
            Shape s = in.shape();
            long[] dims = new long[s == null ? 0 : s.rank()];
            for (int i = 0; i < dims.length; i++) {
                Dim d = s.dim(i);
                dims[i] = d.isKnown() && d.value() > 0 ? d.value() : 1;
            }
            feeds.put(in.name(), SyntheticDataset.randomTensor(in.name(), type, dims, random));
        }
        return feeds;
    }

    private static String input(Model model) {
        return model.source() == null ? "the model" : model.source().toString();
    }

    /** @return null when {@code actual} is within tolerance of {@code expected}, else what differs */
    static String compare(String name, Tensor expected, Tensor actual) {
        if (actual == null) {
            return name + ": missing from the exported model";
        }
        if (expected.dataType() != actual.dataType() || !Arrays.equals(expected.dims(), actual.dims())) {
            return name + ": " + actual.dataType().shortName() + Arrays.toString(actual.dims()) + ", expected "
                    + expected.dataType().shortName() + Arrays.toString(expected.dims());
        }
        if (expected.dataType() == DataType.STRING) {
            return null;
        }
        double[] e = expected.toDoubleArray();
        double[] c = actual.toDoubleArray();
        long outside = 0;
        double maxAbs = 0;
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i]) || Double.isNaN(c[i])) {
                outside += Double.isNaN(e[i]) == Double.isNaN(c[i]) ? 0 : 1;
                continue;
            }
            double d = Math.abs(c[i] - e[i]);
            maxAbs = Math.max(maxAbs, d);
            if (d > ATOL + RTOL * Math.abs(e[i])) {
                outside++;
            }
        }
        return outside == 0 ? null : String.format(Locale.ROOT, "%s: %d of %d values outside the tolerance (max |diff| %.3g)",
                name, outside, e.length, maxAbs);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
