package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassManager;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.passes.PassResult;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.EquivalenceCheck;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx optimize}: runs a pipeline of passes (by default every lossless one, repeated until
 * nothing changes) and writes the result. With {@code --verify} the original and the result run
 * side by side first, and a result whose outputs differ is not written.
 */
@Command(name = "optimize", mixinStandardHelpOptions = true,
        description = {"Rewrite a model with optimization passes (default: every lossless pass) and write it.",
                "--verify runs original and result on the same inputs and refuses to write a result whose"
                        + " outputs differ beyond rtol 1e-4 / atol 1e-5. --list shows the passes and their options."})
public final class OptimizeCommand implements Callable<Integer>, CheckedOptions {
    /** The tolerance of {@code --verify}: looser than the passes' own 1e-5, for float reassociation. */
    static final double VERIFY_RTOL = 1e-4;
    static final double VERIFY_ATOL = 1e-5;

    @Spec
    CommandSpec spec;

    /** The passes this command can name; tests replace it. */
    PassRegistry registry = PassRegistry.standard();

    @Parameters(index = "0", arity = "0..1", paramLabel = "MODEL", description = "the ONNX model to read")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", description = "where to write the result")
    Path output;

    @Option(names = "--passes", split = ",", paramLabel = "ID[,ID...]", hideParamSyntax = true,
            description = "the passes to run, in order (default: every lossless pass; see --list)")
    List<String> passIds;

    @Option(names = "--pass-option", paramLabel = "ID.NAME=VALUE",
            description = "an option of a pass, e.g. fold-constants.max-growth-bytes=1M (repeatable)")
    List<String> passOptions = new ArrayList<>();

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "8",
            description = "repeat the pipeline until nothing changes, at most N times (default: ${DEFAULT-VALUE}; 1 runs it once)")
    int rounds;

    @Option(names = "--list", description = "list the passes with their options and exit")
    boolean list;

    @Option(names = "--verify", description = "compare original and result before writing; refuse on a difference")
    boolean verify;

    @Option(names = "--data", paramLabel = "DATA",
            description = "with --verify: inputs to compare on (IDX, image folder, .npy/.npz); default: random inputs"
                    + " from the model's signature")
    Path dataPath;

    @Mixin
    DataOptions data;

    @Option(names = "--force", description = "allow OUT to be the input file itself")
    boolean force;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (list) {
            printList(registry, out);
            return ExitCode.OK;
        }
        if (input == null || output == null) {
            throw new UserError("give MODEL and -o OUT (or --list)");
        }
        List<Pass> passes = checkedPipeline();
        OutputFiles.check(input, output, force);
        Model model = OnnxReader.read(input);
        Model original = model.copy();
        ModelStats before = ModelStats.of(original);
        PassManager.Outcome outcome;
        try {
            outcome = new PassManager(passes, new PassManager.Options(rounds, false)).run(model, PassContext.defaults());
        } catch (PassRefusedException e) {
            throw new UserError(input + ": " + e.getMessage());
        }
        printSummary(out, before, ModelStats.of(model), outcome);
        if (verify) {
            EquivalenceCheck.Result check = verify(original, model);
            String where = dataPath == null ? "random inputs from the signature" : dataPath.toString();
            if (!check.passed()) {
                PrintWriter err = spec.commandLine().getErr();
                err.printf("%s: verify failed on %d items of %s; %s was not written%n", spec.qualifiedName(),
                        check.items(), where, output);
                check.outputs().stream().filter(c -> !c.passed()).forEach(c -> err.println("  " + c.describe()));
                return ExitCode.GATE_FAILED;
            }
            out.printf("verify: %d items of %s, every output within rtol %.0e / atol %.0e%n", check.items(), where,
                    VERIFY_RTOL, VERIFY_ATOL);
            check.outputs().forEach(c -> out.println("  " + c.describe()));
        }
        OnnxWriter.Result written = OnnxWriter.write(model, output, ExternalDataPolicy.keep());
        out.printf("wrote %s (%s)%n", written.model(), Format.bytes(written.modelBytes()));
        return ExitCode.OK;
    }

    @Override
    public void checkOptions() {
        checkedPipeline();
    }

    /** The pipeline the options name, every value checked (pass ids and options by the registry). */
    private List<Pass> checkedPipeline() {
        if (rounds < 1) {
            throw new UserError("--rounds must be at least 1, got " + rounds);
        }
        if (dataPath != null && !verify) {
            throw new UserError("--data only applies with --verify");
        }
        try {
            return registry.pipeline(passIds == null ? registry.losslessIds() : passIds, parseOptions(passOptions));
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    private EquivalenceCheck.Result verify(Model original, Model optimized) throws Exception {
        DataSpec dataSpec = data.toSpec(dataPath);
        RunOptions options = RunOptions.reference().withIntraOpThreads(0);
        try (ModelRunner a = ModelRunner.open(original, options);
             ModelRunner b = ModelRunner.open(optimized, options);
             Dataset ds = Datasets.open(dataSpec, original, "test")) {
            return EquivalenceCheck.compare(a, b, ds, 16, VERIFY_RTOL, VERIFY_ATOL);
        }
    }

    /**
     * @param model a model (not changed)
     * @return a copy through the default lossless pipeline, repeated until nothing changes
     */
    static Model losslessCopy(Model model) {
        Model copy = model.copy();
        PassRegistry passes = PassRegistry.standard();
        new PassManager(passes.pipeline(passes.losslessIds(), Map.of()), PassManager.Options.untilFixedPoint())
                .run(copy, PassContext.defaults());
        return copy;
    }

    /** {@code fold-constants.max-growth-bytes=1M} → {fold-constants: {max-growth-bytes: 1M}}. */
    static Map<String, Map<String, String>> parseOptions(List<String> given) {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (String s : given) {
            int dot = s.indexOf('.');
            int eq = s.indexOf('=');
            if (dot <= 0 || eq < dot + 2) {
                throw new UserError("--pass-option wants ID.NAME=VALUE, got '" + s + "'");
            }
            out.computeIfAbsent(s.substring(0, dot), k -> new LinkedHashMap<>())
                    .put(s.substring(dot + 1, eq), s.substring(eq + 1));
        }
        return out;
    }

    private static void printList(PassRegistry registry, PrintWriter out) {
        for (PassDescriptor d : registry.all()) {
            out.printf("%-16s %s%s%n", d.id(), d.summary(), d.lossless() ? "" : " (lossy)");
            for (PassOption o : d.options()) {
                out.printf("  %-14s %s (default %s)%n", o.name(), o.description(), o.defaultValue());
            }
        }
        out.println("default pipeline: " + String.join(",", registry.losslessIds()));
    }

    private static void printSummary(PrintWriter out, ModelStats a, ModelStats b, PassManager.Outcome outcome) {
        out.printf("%-18s %14s %14s%n", "", "before", "after");
        row(out, "nodes", a.nodeCount(), b.nodeCount(), Format::grouped);
        row(out, "params", a.parameterCount(), b.parameterCount(), Format::grouped);
        row(out, "MACs per sample", a.totalMacs(), b.totalMacs(), Format::count);
        row(out, "initializer bytes", a.initializerBytes(), b.initializerBytes(), Format::bytes);
        out.printf("passes (%d round%s):%n", outcome.rounds(), outcome.rounds() == 1 ? "" : "s");
        for (PassResult r : outcome.perPass()) {
            out.printf("  %-16s %s%n", r.passId(), r.summary());
        }
    }

    private static void row(PrintWriter out, String what, long before, long after,
                            java.util.function.LongFunction<String> format) {
        String change = before == 0 || before == after ? ""
                : String.format("  (%+.1f%%)", 100.0 * (after - before) / before);
        out.printf("%-18s %14s %14s%s%n", what, format.apply(before), format.apply(after), change);
    }
}
