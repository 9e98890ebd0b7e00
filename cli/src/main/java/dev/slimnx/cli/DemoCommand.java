package dev.slimnx.cli;

import dev.slimnx.graph.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx demo}: the whole user path on the embedded {@code vit} reference model, as one
 * recipe (the resource {@code demo.yaml}, written into the output folder so the user can read and
 * rerun it): lossless optimization, Taylor FFN pruning 4 → 2 with a one-epoch distillation
 * fine-tune, static INT8, validation against the original with a gate, export to the ORT format.
 * It is {@code slimnx run} on that recipe, so nothing here duplicates a step; it only adds the
 * closing summary table and where the reports are. Needs no network and no data beyond the
 * repository's.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run the demo: the embedded ViT optimized, pruned, quantized, validated and exported.",
                "The recipe: lossless optimization, Taylor FFN pruning 4 -> 2 with a short distillation, static"
                        + " INT8, validation against the original with a gate, export to the ORT format. About a"
                        + " minute on 2 cores; writes DIR/demo.yaml (the recipe), every step's model and the reports."})
public final class DemoCommand implements Callable<Integer> {
    /** The recipe, a resource next to this class. */
    static final String RECIPE = "demo.yaml";

    @Spec
    CommandSpec spec;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "slimnx-demo",
            description = "where to write the recipe and its results (default: ${DEFAULT-VALUE})")
    Path outDir;

    @Override
    public Integer call() throws IOException {
        if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
            throw new UserError(outDir + ": is a file; --out needs a folder");
        }
        Files.createDirectories(outDir);
        Path recipe = outDir.resolve(RECIPE);
        try (InputStream in = DemoCommand.class.getResourceAsStream(RECIPE)) {
            if (in == null) {
                throw new IllegalStateException("the demo recipe is missing from the jar");
            }
            byte[] bytes = in.readAllBytes();
            AtomicFiles.write(recipe, f -> Files.write(f, bytes));
        }
        PrintWriter out = spec.commandLine().getOut();
        CommandLine run = SlimnxCommand.commandLine();
        run.setOut(out);
        run.setErr(spec.commandLine().getErr());
        int code = run.execute("run", recipe.toString(), "--out", outDir.toString());
        Path summary = outDir.resolve("summary.md");
        if (Files.exists(summary)) {
            out.println();
            out.print(Files.readString(summary));
        }
        try (var files = Files.list(outDir)) {
            files.filter(f -> f.getFileName().toString().endsWith("-validate.html")).sorted()
                    .forEach(f -> out.println("validation report (HTML): " + f));
        }
        out.println("the recipe that ran: " + recipe + " (slimnx run " + recipe + ")");
        return code;
    }
}
