package dev.slimnx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.graph.testing.Assertions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ONNX's backend test data (Debian's {@code libonnx-testdata}) through slimnx's reader and writer
 * and through ONNX Runtime.
 *
 * <p>For every test folder: (a) read → write in memory → re-parse must give a {@code ModelProto}
 * equal to the original file's; (b) the round-tripped model runs on every {@code test_data_set_*}
 * and its outputs are compared with {@code output_*.pb} using the tolerances of ONNX's backend test
 * runner (rtol 1e-3, atol 1e-7; NaN equals NaN), and with ONNX Runtime's outputs for the original
 * file, which must be bitwise the same. A test that ONNX Runtime (or its Java API) cannot load or
 * run is "not supported"; one where the original file misses the reference in the same way is "ORT
 * deviates"; anything else that goes wrong is "failed", and fails this test. Sessions use
 * {@link RunOptions#reference()}: one thread, no graph optimizations.
 *
 * <p>The counts are printed and written to {@code target/onnx-conformance.md}.
 */
class OnnxConformanceTest {
    static final Path DATA = Path.of(System.getProperty("slimnx.onnx.testdata", "/usr/share/libonnx-testdata/data"));
    static final List<String> SUITES = List.of("node", "pytorch-converted", "pytorch-operator", "real", "simple");
    /** ONNX's backend runner defaults ({@code onnx.backend.test.case.test_case.TestCase}). */
    static final double RTOL = 1e-3;
    static final double ATOL = 1e-7;

    enum Status { PASSED, NOT_SUPPORTED, ORT_DEVIATES, FAILED, NOT_SHIPPED }

    record Outcome(String suite, String name, Status status, String reason, String detail) {
    }

    @Test
    void backendTestData() throws IOException {
        assumeTrue(Files.isDirectory(DATA.resolve("node")),
                "ONNX backend test data not installed at " + DATA + " (apt-get install libonnx-testdata)");
        long start = System.nanoTime();
        List<Outcome> outcomes = new ArrayList<>();
        for (String suite : SUITES) {
            Path dir = DATA.resolve(suite);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            List<Path> cases;
            try (Stream<Path> s = Files.list(dir)) {
                cases = s.filter(Files::isDirectory).sorted().toList();
            }
            for (Path c : cases) {
                outcomes.add(check(suite, c, UnaryOperator.identity()));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        String summary = summarize(outcomes, seconds);
        System.out.println(summary);
        Path out = Path.of("target", "onnx-conformance.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, summary);
        Files.write(Path.of("target", "onnx-conformance.tsv"), outcomes.stream()
                .map(o -> String.join("\t", o.suite(), o.name(), o.status().name(), o.reason(), o.detail().replace('\n', ' ')))
                .toList());
        List<Outcome> failed = outcomes.stream().filter(o -> o.status() == Status.FAILED).toList();
        assertEquals(List.of(), failed.stream().map(o -> o.suite() + "/" + o.name() + ": " + o.reason() + " "
                + o.detail()).toList(), "round trip changed a model's message or behaviour");
    }

    /** The harness must be able to fail: a model changed between read and write is caught. */
    @Test
    void changedModelIsFailed() {
        Path add = DATA.resolve("node/test_add");
        assumeTrue(Files.isDirectory(add), "libonnx-testdata is not installed");
        Outcome o = check("node", add, m -> {
            m.graph().nodes().getFirst().setOpType("Sub");
            return m;
        });
        assertEquals(Status.FAILED, o.status());
        assertEquals("re-parsed message differs", o.reason());
    }

    /** A wrong reference output that the original model misses as well is ORT's (or the data's) problem. */
    @Test
    void wrongReferenceIsADeviation(@TempDir Path tmp) throws IOException {
        Path add = DATA.resolve("node/test_add");
        assumeTrue(Files.isDirectory(add), "libonnx-testdata is not installed");
        Path copy = tmp.resolve("test_add");
        Files.createDirectories(copy.resolve("test_data_set_0"));
        Files.copy(add.resolve("model.onnx"), copy.resolve("model.onnx"));
        for (String f : List.of("input_0.pb", "input_1.pb")) {
            Files.copy(add.resolve("test_data_set_0").resolve(f), copy.resolve("test_data_set_0").resolve(f));
        }
        // x instead of x + y as the expected output
        Files.copy(add.resolve("test_data_set_0/input_0.pb"), copy.resolve("test_data_set_0/output_0.pb"));
        Outcome o = check("node", copy, UnaryOperator.identity());
        assertEquals(Status.ORT_DEVIATES, o.status(), o.toString());
        assertEquals("values beyond tolerance (Add)", o.reason());
    }

    // ---- one test folder ----

    /**
     * @param suite the suite folder's name
     * @param dir one test folder
     * @param edit applied to the model after reading (identity, except in the tests of this harness)
     * @return the outcome
     */
    static Outcome check(String suite, Path dir, UnaryOperator<Model> edit) {
        String name = dir.getFileName().toString();
        Path file = dir.resolve("model.onnx");
        if (!Files.isRegularFile(file)) {
            return new Outcome(suite, name, Status.NOT_SHIPPED, "model not in the package (data.json names a download)", "");
        }
        Model model;
        try {
            ModelProto original = ModelProto.parseFrom(Files.readAllBytes(file));
            model = edit.apply(OnnxReader.read(file));
            ModelProto back = ModelProto.parseFrom(OnnxWriter.toBytes(model));
            if (!original.equals(back)) {
                return new Outcome(suite, name, Status.FAILED, "re-parsed message differs", firstDifference(original, back));
            }
        } catch (IOException | RuntimeException e) {
            return new Outcome(suite, name, Status.FAILED, "round trip threw", e.toString());
        }
        String nonTensor = nonTensorValues(model);
        if (nonTensor != null) {
            return new Outcome(suite, name, Status.NOT_SUPPORTED, nonTensor, "");
        }
        try {
            return compareRuns(suite, name, dir, file, model);
        } catch (IOException | RuntimeException e) {
            return new Outcome(suite, name, Status.FAILED, "harness error", e.toString());
        }
    }

    private static Outcome compareRuns(String suite, String name, Path dir, Path file, Model model) throws IOException {
        ModelRunner original = null;
        ModelRunner roundTripped = null;
        try {
            RuntimeFailure originalFailure = null;
            RuntimeFailure roundTripFailure = null;
            try {
                original = ModelRunner.open(file, RunOptions.reference());
            } catch (RuntimeFailure e) {
                originalFailure = e;
            }
            try {
                roundTripped = ModelRunner.open(model, RunOptions.reference());
            } catch (RuntimeFailure e) {
                roundTripFailure = e;
            }
            if (originalFailure != null || roundTripFailure != null) {
                if (originalFailure == null || roundTripFailure == null) {
                    return new Outcome(suite, name, Status.FAILED, "only one of original and round trip loads",
                            String.valueOf(originalFailure != null ? originalFailure : roundTripFailure));
                }
                return new Outcome(suite, name, Status.NOT_SUPPORTED, "session: " + ortReason(originalFailure),
                        originalFailure.getMessage());
            }
            List<Path> sets;
            try (Stream<Path> s = Files.list(dir)) {
                sets = s.filter(p -> p.getFileName().toString().startsWith("test_data_set_")).sorted().toList();
            }
            Status worst = Status.PASSED;
            String reason = "";
            String detail = "";
            for (Path set : sets) {
                Outcome o = compareDataSet(suite, name, set, original, roundTripped, opTypes(model));
                if (o.status() == Status.FAILED) {
                    return o;
                }
                if (o.status() != Status.PASSED && worst == Status.PASSED) {
                    worst = o.status();
                    reason = o.reason();
                    detail = o.detail();
                }
            }
            return new Outcome(suite, name, worst, reason, detail);
        } finally {
            if (original != null) {
                original.close();
            }
            if (roundTripped != null) {
                roundTripped.close();
            }
        }
    }

    private static Outcome compareDataSet(String suite, String name, Path set, ModelRunner original,
                                          ModelRunner roundTripped, String ops) throws IOException {
        List<Tensor> inputs = readIndexed(set, "input_");
        List<Tensor> expected = readIndexed(set, "output_");
        List<IoInfo> ins = roundTripped.inputs();
        if (inputs.size() != ins.size()) {
            return new Outcome(suite, name, Status.NOT_SUPPORTED, "test data has " + inputs.size()
                    + " inputs, ONNX Runtime expects " + ins.size(), "");
        }
        Map<String, Tensor> feeds = new TreeMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            feeds.put(ins.get(i).name(), asBfloat16If(ins.get(i).elementType(), inputs.get(i)));
        }
        Map<String, Tensor> got;
        Map<String, Tensor> reference;
        RuntimeFailure roundTripFailure = null;
        RuntimeFailure originalFailure = null;
        got = null;
        reference = null;
        try {
            got = roundTripped.run(feeds);
        } catch (RuntimeFailure e) {
            roundTripFailure = e;
        }
        try {
            reference = original.run(feeds);
        } catch (RuntimeFailure e) {
            originalFailure = e;
        }
        if (originalFailure != null || roundTripFailure != null) {
            if (originalFailure == null || roundTripFailure == null) {
                return new Outcome(suite, name, Status.FAILED, "only one of original and round trip runs",
                        String.valueOf(originalFailure != null ? originalFailure : roundTripFailure));
            }
            String prefix = originalFailure.kind() == RuntimeFailure.Kind.UNSUPPORTED_TYPE ? "Java API: " : "run: ";
            return new Outcome(suite, name, Status.NOT_SUPPORTED, prefix + ortReason(originalFailure),
                    originalFailure.getMessage());
        }
        boolean nondeterministic = false;
        String sameAsOriginal = sameBits(reference, got);
        if (sameAsOriginal != null) {
            String again = sameBits(reference, original.run(feeds));
            if (again == null) {
                return new Outcome(suite, name, Status.FAILED, "round trip computes differently from the original",
                        sameAsOriginal);
            }
            nondeterministic = true; // the original does not even agree with itself
        }
        List<String> outputNames = new ArrayList<>(got.keySet());
        for (int i = 0; i < expected.size() && i < outputNames.size(); i++) {
            String out = outputNames.get(i);
            Tensor want = asBfloat16If(got.get(out).dataType(), expected.get(i));
            String mismatch = Assertions.mismatch(want, got.get(out), RTOL, ATOL);
            if (mismatch != null) {
                String originalMismatch = Assertions.mismatch(want, reference.get(out), RTOL, ATOL);
                if (originalMismatch == null) {
                    return new Outcome(suite, name, Status.FAILED, "round trip misses the reference, the original does not",
                            out + ": " + mismatch);
                }
                String why = nondeterministic ? "outputs vary between runs (" + ops + ")" : deviation(mismatch, ops);
                return new Outcome(suite, name, Status.ORT_DEVIATES, why, set.getFileName() + " " + out + ": "
                        + mismatch);
            }
        }
        if (nondeterministic) {
            return new Outcome(suite, name, Status.FAILED, "outputs vary between runs but match the reference", "");
        }
        return new Outcome(suite, name, Status.PASSED, "", "");
    }

    // ---- helpers ----

    /** @return {@code input_0.pb, input_1.pb, ...} in numeric order */
    private static List<Tensor> readIndexed(Path set, String prefix) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(set)) {
            files = s.filter(p -> p.getFileName().toString().matches(Pattern.quote(prefix) + "\\d+\\.pb"))
                    .sorted(Comparator.comparingInt(p -> Integer.parseInt(
                            p.getFileName().toString().replaceAll("\\D", ""))))
                    .toList();
        }
        List<Tensor> out = new ArrayList<>();
        for (Path f : files) {
            out.add(OnnxReader.readTensor(f));
        }
        return out;
    }

    /** @return null when the graph's inputs and outputs are all tensors, else which kinds are not */
    private static String nonTensorValues(Model model) {
        List<String> kinds = new ArrayList<>();
        for (Value v : model.graph().inputs()) {
            if (!v.isInitializer() && !(v.type() instanceof ValueType.TensorType)) {
                kinds.add("input " + kind(v.type()));
            }
        }
        for (Value v : model.graph().outputs()) {
            if (!(v.type() instanceof ValueType.TensorType)) {
                kinds.add("output " + kind(v.type()));
            }
        }
        return kinds.isEmpty() ? null : "non-tensor " + kinds.stream().distinct().collect(Collectors.joining(", "));
    }

    private static String kind(ValueType t) {
        return switch (t) {
            case ValueType.SequenceType s -> "sequence";
            case ValueType.OptionalType o -> "optional";
            case ValueType.MapType m -> "map";
            case ValueType.SparseTensorType s -> "sparse tensor";
            case null -> "of unknown type";
            default -> t.getClass().getSimpleName();
        };
    }

    /** @return null when both maps hold the same names, types, dims and bits, else the first difference */
    private static String sameBits(Map<String, Tensor> a, Map<String, Tensor> b) {
        if (!a.keySet().equals(b.keySet())) {
            return "outputs " + a.keySet() + " vs " + b.keySet();
        }
        for (String n : a.keySet()) {
            Tensor x = a.get(n);
            Tensor y = b.get(n);
            if (x.dataType() != y.dataType() || !Arrays.equals(x.dims(), y.dims())) {
                return n + ": " + x + " vs " + y;
            }
            boolean equal = x.dataType() == DataType.STRING
                    ? Assertions.mismatch(x, y, 0, 0) == null
                    : x.rawBytes().equals(y.rawBytes());
            if (!equal) {
                return n + ": values differ (" + Assertions.mismatch(x, y, 0, 0) + ")";
            }
        }
        return null;
    }

    private static final Pattern NO_KERNEL = Pattern.compile("Could not find an implementation for (\\w+)\\((\\d+)\\)");
    private static final Pattern UNSUPPORTED_TYPE = Pattern.compile("element type (\\w+), which the ONNX Runtime Java API");
    private static final Pattern NOT_REGISTERED = Pattern.compile("Fatal error: (\\S+) is not a registered function/op");
    private static final Pattern NODE_STATUS = Pattern.compile(
            "Non-zero status code returned while running (\\w+) node\\. Name:'[^']*' Status Message: (.*)");

    /** ORT's source file, line and C++ signature in front of its messages. */
    private static final String SOURCE_LOCATION =
            "/onnxruntime_src/\\S+ (\\S*\\(.*?\\)(::<lambda\\(\\)>)?( const)?( \\[with [^\\]]*\\])? )?";

    /** A short, groupable reason from ORT's message: no paths, no source locations, no node names. */
    static String ortReason(RuntimeFailure f) {
        String msg = f.getMessage().replaceAll("\\s+", " ");
        Matcher m = NO_KERNEL.matcher(msg);
        if (m.find()) {
            return "no CPU kernel for " + m.group(1) + "(" + m.group(2) + ")";
        }
        m = UNSUPPORTED_TYPE.matcher(msg);
        if (m.find()) {
            return "cannot pass " + m.group(1) + " tensors";
        }
        m = NOT_REGISTERED.matcher(msg);
        if (m.find()) {
            return "op not registered: " + m.group(1);
        }
        String s = msg.substring(msg.indexOf(": ") + 2); // drop "model <path>"
        if (f.kind() == RuntimeFailure.Kind.INVALID_INPUT) {
            return "test data does not fit the model's declared inputs (" + shorten(s) + ")";
        }
        s = s
                .replaceFirst("^ONNX Runtime (cannot load it|failed to run it): ", "")
                .replaceFirst("^Error code - \\w+ - message: ", "")
                .replaceFirst("^Load model from \\S+ failed:", "")
                .replaceFirst("^Exception during initialization: ", "")
                .replaceAll(SOURCE_LOCATION, "");
        m = NODE_STATUS.matcher(s);
        if (m.find()) {
            s = m.group(1) + ": " + m.group(2).replaceAll(SOURCE_LOCATION, "");
        }
        return shorten(s);
    }

    private static final Pattern RANDOM_OPS = Pattern.compile("Bernoulli|RandomUniform|RandomNormal|Dropout|Multinomial");

    private static String deviation(String mismatch, String ops) {
        if (RANDOM_OPS.matcher(ops).find()) {
            return "random numbers differ from the reference's (" + ops + ")";
        }
        if (mismatch.startsWith("string")) {
            return "strings differ (" + ops + ")";
        }
        if (mismatch.startsWith("dims") || mismatch.startsWith("element type")) {
            return "output " + mismatch.split(",")[0] + " (" + ops + ")";
        }
        return "values beyond tolerance (" + ops + ")";
    }

    /** @return the model's op types other than Constant, e.g. {@code Resize} or {@code Cast+Mul} */
    private static String opTypes(Model model) {
        String ops = model.graph().nodes().stream().map(n -> n.opType()).filter(t -> !t.equals("Constant")).distinct()
                .limit(4).collect(Collectors.joining("+"));
        return ops.isEmpty() ? "no ops" : ops;
    }

    /**
     * NOTE: ONNX's test data stores bfloat16 tensors as uint16 bit patterns (numpy has no bfloat16);
     * where the model has BFLOAT16 on that side, the same bits are read as BFLOAT16.
     */
    private static Tensor asBfloat16If(DataType wanted, Tensor t) {
        if (wanted != DataType.BFLOAT16 || t.dataType() != DataType.UINT16) {
            return t;
        }
        ByteBuffer copy = ByteBuffer.allocate(t.rawBytes().remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(t.rawBytes()).flip();
        return Tensor.ofRaw(t.name(), DataType.BFLOAT16, t.dims(), copy);
    }

    private static String shorten(String s) {
        String oneLine = s.replaceAll("\\s+", " ").trim();
        return oneLine.length() > 160 ? oneLine.substring(0, 157) + "..." : oneLine;
    }

    private static String firstDifference(ModelProto a, ModelProto b) {
        String[] x = a.toString().split("\n");
        String[] y = b.toString().split("\n");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            if (!x[i].equals(y[i])) {
                return "line " + (i + 1) + ": '" + shorten(x[i]) + "' vs '" + shorten(y[i]) + "'";
            }
        }
        return x.length + " vs " + y.length + " lines of text format (unknown fields may differ)";
    }

    static String summarize(List<Outcome> outcomes, double seconds) {
        Map<Status, Long> counts = new EnumMap<>(Status.class);
        for (Status s : Status.values()) {
            counts.put(s, outcomes.stream().filter(o -> o.status() == s).count());
        }
        StringBuilder sb = new StringBuilder();
        sb.append("# ONNX backend test data through slimnx\n\n");
        sb.append("date ").append(LocalDate.now()).append(", ONNX Runtime ").append(ModelRunner.ortVersion())
                .append(", data ").append(DATA).append(", ").append(String.format("%.1f", seconds)).append(" s\n\n");
        sb.append("| result | tests |\n| --- | --- |\n");
        sb.append("| all test folders | ").append(outcomes.size()).append(" |\n");
        for (Status s : Status.values()) {
            sb.append("| ").append(s.name().toLowerCase().replace('_', ' ')).append(" | ").append(counts.get(s))
                    .append(" |\n");
        }
        for (Status s : List.of(Status.FAILED, Status.ORT_DEVIATES, Status.NOT_SUPPORTED, Status.NOT_SHIPPED)) {
            List<Outcome> these = outcomes.stream().filter(o -> o.status() == s).toList();
            if (these.isEmpty()) {
                continue;
            }
            sb.append("\n## ").append(s.name().toLowerCase().replace('_', ' ')).append("\n\n");
            Map<String, List<Outcome>> byReason = new TreeMap<>();
            for (Outcome o : these) {
                byReason.computeIfAbsent(o.reason(), k -> new ArrayList<>()).add(o);
            }
            for (Map.Entry<String, List<Outcome>> e : byReason.entrySet()) {
                sb.append("- ").append(e.getKey()).append(" (").append(e.getValue().size()).append("): ")
                        .append(e.getValue().stream().map(o -> o.suite().equals("node") ? o.name() : o.suite() + "/" + o.name())
                                .collect(Collectors.joining(", ")))
                        .append('\n');
            }
            if (s == Status.ORT_DEVIATES || s == Status.FAILED) {
                sb.append("\nDetails:\n\n");
                for (Outcome o : these) {
                    sb.append("- ").append(o.suite()).append('/').append(o.name()).append(": ").append(shorten(o.detail()))
                            .append('\n');
                }
            }
        }
        return sb.toString();
    }
}
