package dev.slimnx.cli;

import dev.slimnx.graph.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx cli-reference}: writes docs/cli.md, the CLI reference, from the commands' own
 * picocli definitions, so the reference cannot say something {@code --help} does not. A test
 * compares the committed page with a fresh rendering, which keeps it from going stale. Hidden
 * commands (benchmarks, maintenance) stay out, as they do from {@code --help}.
 */
@Command(name = "cli-reference", hidden = true, mixinStandardHelpOptions = true,
        description = "Write the CLI reference (docs/cli.md) from the commands' definitions.")
public final class CliReferenceCommand implements Callable<Integer> {
    /** Columns of the usage text in the page: wider than a terminal's 80, narrower than a page. */
    static final int WIDTH = 100;

    @Spec
    CommandSpec spec;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "where to write it (default: standard output)")
    Path output;

    @Override
    public Integer call() throws IOException {
        String page = render(SlimnxCommand.commandLine());
        if (output == null) {
            spec.commandLine().getOut().print(page);
        } else {
            AtomicFiles.write(output, f -> Files.writeString(f, page));
            spec.commandLine().getOut().println("wrote " + output);
        }
        return ExitCode.OK;
    }

    /**
     * @param root the {@code slimnx} command line
     * @return the Markdown page: a table of the commands, then each command's help text
     */
    static String render(CommandLine root) {
        List<CommandLine> commands = new ArrayList<>();
        collect(root, commands);
        StringBuilder page = new StringBuilder();
        page.append("# slimnx command reference\n\n")
                .append("Generated from the commands' definitions by `./slimnx cli-reference -o docs/cli.md`;\n")
                .append("do not edit by hand (a test fails when this page and `--help` disagree). The guide to\n")
                .append("using them is [guide.md](guide.md); exit codes: 0 done, 1 a gate or check failed, 2 bad\n")
                .append("input or usage, 3 internal error.\n\n")
                .append("| command | what it does |\n| --- | --- |\n");
        for (CommandLine c : commands) {
            page.append("| [`").append(c.getCommandSpec().qualifiedName()).append("`](#")
                    .append(anchor(c)).append(") | ").append(summary(c)).append(" |\n");
        }
        for (CommandLine c : commands) {
            c.setUsageHelpWidth(WIDTH);
            page.append("\n## ").append(c.getCommandSpec().qualifiedName()).append("\n\n```text\n")
                    .append(c.getUsageMessage(CommandLine.Help.Ansi.OFF).stripTrailing()).append("\n```\n");
        }
        return page.toString();
    }

    private static void collect(CommandLine command, List<CommandLine> into) {
        for (CommandLine sub : command.getSubcommands().values()) {
            CommandSpec spec = sub.getCommandSpec();
            // NOTE: aliases map to the same CommandLine; the help command documents nothing of its own.
            if (spec.usageMessage().hidden() || sub.getCommand() instanceof CommandLine.HelpCommand
                    || into.contains(sub)) {
                continue;
            }
            into.add(sub);
            collect(sub, into);
        }
    }

    private static String summary(CommandLine command) {
        String[] description = command.getCommandSpec().usageMessage().description();
        return description.length == 0 ? "" : description[0].replace("|", "\\|");
    }

    /** GitHub's heading anchor: lower case, spaces to hyphens, punctuation dropped. */
    private static String anchor(CommandLine command) {
        return command.getCommandSpec().qualifiedName().toLowerCase(java.util.Locale.ROOT)
                .replaceAll("[^a-z0-9 -]", "").replace(' ', '-');
    }
}
