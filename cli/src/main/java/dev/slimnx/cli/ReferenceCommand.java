package dev.slimnx.cli;

import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code slimnx reference}: the embedded reference models. */
@Command(name = "reference", mixinStandardHelpOptions = true,
        description = "The embedded reference models (small trained ViT-family models on Fashion-MNIST).",
        subcommands = {ReferenceCommand.ListCommand.class, ReferenceCommand.PathCommand.class, ReferenceEvalCommand.class, BuildManifestCommand.class})
public final class ReferenceCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static ReferenceModels registry() {
        try {
            return ReferenceModels.locate();
        } catch (java.io.IOException e) {
            throw new UserError(e.getMessage());
        }
    }

    /** {@code slimnx reference list}. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the reference models: params, MACs, metric.")
    static final class ListCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            ReferenceModels registry = registry();
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-13s %-14s %10s %10s  %s%n", "name", "task", "params", "MACs", "metric (ONNX Runtime / PyTorch)");
            for (ReferenceModel m : registry.all()) {
                StringBuilder metrics = new StringBuilder();
                m.metrics().forEach((k, v) -> metrics.append(metrics.isEmpty() ? "" : ", ")
                        .append(String.format(Locale.ROOT, "%s %.4f / %.4f", k, v.onnxruntime(), v.pytorch())));
                out.printf("%-13s %-14s %10s %10s  %s%n", m.name(), m.task().name().toLowerCase(Locale.ROOT),
                        Format.count(m.params()), Format.count(m.macs()), metrics);
            }
            return ExitCode.OK;
        }
    }

    /** {@code slimnx reference path NAME}. */
    @Command(name = "path", mixinStandardHelpOptions = true, description = "Print the file of a reference model.")
    static final class PathCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", description = "the model, e.g. vit")
        String name;

        @Override
        public Integer call() {
            ReferenceModels registry = registry();
            try {
                spec.commandLine().getOut().println(registry.get(name).file());
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            return ExitCode.OK;
        }
    }
}
