package dev.slimnx.cli;

import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.ReferenceTaskEvaluator;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.ImagePreprocessing;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code slimnx reference eval NAME}: evaluates a reference model on its committed test data with
 * the manifest's preprocessing and prints each metric next to the manifest's figure.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a reference model on its committed test data and compare with the manifest.")
public final class ReferenceEvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "NAME", description = "the model, e.g. vit")
    String name;

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE})")
    int threads;

    @Override
    public Integer call() throws Exception {
        ReferenceModels registry = ReferenceCommand.registry();
        ReferenceModel m;
        try {
            m = registry.get(name);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        if (threads < 0) {
            throw new UserError("--threads must be >= 0, got " + threads);
        }
        ReferenceModel.Preprocessing p = m.inputs().stream().map(ReferenceModel.InputSpec::preprocessing)
                .filter(x -> x != null).findFirst()
                .orElseThrow(() -> new UserError(name + ": the manifest gives no preprocessing"));
        Map<String, int[]> maps = new LinkedHashMap<>();
        for (ReferenceModel.OutputSpec o : m.outputs()) {
            maps.put(o.name(), m.labelMaps().get(o.name()));
        }
        Map<String, Double> metrics;
        var model = OnnxReader.read(m.file());
        try (ModelRunner runner = ModelRunner.open(model, RunOptions.defaults().withIntraOpThreads(threads))) {
            metrics = ReferenceTaskEvaluator.evaluate(m.task().name().toLowerCase(Locale.ROOT), model, runner,
                    DataSpec.images(registry.dataFile("test_images"), "test", new ImagePreprocessing(p.scale(), p.mean(), p.std())),
                    maps);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf("%s (%s) on %s%n", m.name(), m.task().name().toLowerCase(Locale.ROOT),
                m.metrics().values().stream().map(ReferenceModel.Metric::evalSet).findFirst().orElse("the test set"));
        out.printf("  %-14s %12s %12s %10s%n", "metric", "measured", "manifest", "diff");
        for (var e : metrics.entrySet()) {
            ReferenceModel.Metric want = m.metrics().get(e.getKey());
            double manifest = want == null ? Double.NaN : want.onnxruntime();
            out.printf(Locale.ROOT, "  %-14s %12.4f %12.4f %+10.4f%n", e.getKey(), e.getValue(), manifest, e.getValue() - manifest);
        }
        return ExitCode.OK;
    }
}
