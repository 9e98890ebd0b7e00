package dev.slimnx.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The top-level {@code slimnx} command; each capability is a subcommand. */
@Command(name = "slimnx", mixinStandardHelpOptions = true, version = "slimnx 0.1.0",
        description = "Compresses and converts vision-transformer ONNX models, and proves what each rewrite did.",
        subcommands = {InspectCommand.class, ConvertCommand.class, OptimizeCommand.class, QuantizeCommand.class,
                PruneCommand.class, FinetuneCommand.class, ValidateCommand.class, ReferenceCommand.class,
                ExportCommand.class,
                RunCommand.class, DemoCommand.class,
                BenchCommand.class, CliReferenceCommand.class,
                CommandLine.HelpCommand.class})
public final class SlimnxCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    /** @return a configured command line, as the executable and tests use it */
    public static CommandLine commandLine() {
        return commandLine(CommandLine.defaultFactory());
    }

    /**
     * @param factory creates the command objects (tests swap in commands with test doubles)
     * @return a configured command line
     */
    static CommandLine commandLine(CommandLine.IFactory factory) {
        CommandLine cl = new CommandLine(new SlimnxCommand(), factory);
        cl.setExecutionExceptionHandler(new ErrorHandler());
        cl.setExitCodeExceptionMapper(e -> ExitCode.BAD_INPUT);
        return cl;
    }
}
