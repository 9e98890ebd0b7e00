package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code slimnx convert}: a lossless load → save, and the way to move weights into or out of
 * external data. Without an external-data option the layout is kept as it was.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Load a model and save it again, losslessly.",
                "Keeps the external-data layout unless asked: --external-data moves initializers of at least"
                        + " --size-threshold bytes into OUT.data; --no-external-data puts every weight inline."})
public final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "the ONNX model to read")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "where to write the model")
    Path output;

    @Option(names = "--external-data", negatable = true,
            description = "move large initializers into external data (OUT.data), or with --no-external-data inline everything")
    Boolean externalData;

    @Option(names = "--size-threshold", paramLabel = "BYTES", defaultValue = "1024",
            description = "with --external-data: initializers of at least this many bytes go external (default: ${DEFAULT-VALUE})")
    long sizeThreshold;

    @Option(names = "--force", description = "allow OUT to be the input file itself")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (sizeThreshold < 0) {
            throw new UserError("--size-threshold must be >= 0, got " + sizeThreshold);
        }
        if (sizeThreshold != 1024 && !Boolean.TRUE.equals(externalData)) {
            throw new UserError("--size-threshold only applies with --external-data");
        }
        OutputFiles.check(input, output, force);
        Model model = OnnxReader.read(input);
        ExternalDataPolicy policy = externalData == null ? ExternalDataPolicy.keep()
                : externalData ? ExternalDataPolicy.externalize(sizeThreshold, "") : ExternalDataPolicy.inline();
        OnnxWriter.Result result = OnnxWriter.write(model, output, policy);
        PrintWriter out = spec.commandLine().getOut();
        out.printf("wrote %s (%s)%n", result.model(), Format.bytes(result.modelBytes()));
        if (result.dataFile() != null) {
            out.printf("wrote %s (%s of external data)%n", result.dataFile(), Format.bytes(result.externalBytes()));
        }
        if (result.forcedExternal()) {
            out.println("note: the model is over 2 GB, so its weights were written as external data");
        }
        return ExitCode.OK;
    }
}
