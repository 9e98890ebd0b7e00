package dev.slimnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.validate.report.Reports;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx run RECIPE.yaml}: runs a recipe's steps in order, each through the {@code slimnx}
 * subcommand of the same name, so a step takes exactly that command's options (a step's key
 * {@code ffn-ratio} is {@code prune --ffn-ratio}) and does exactly what the command does.
 *
 * <p>Every step is parsed into its command and its option values checked
 * ({@link CheckedOptions}) before the first one runs; a bad recipe exits 2 with one line naming
 * the file and the key path, and nothing is written. Then each step writes into the output folder:
 * its model ({@code 02-prune.onnx}), its reports ({@code 02-prune.json}, {@code 03-validate.json}
 * / {@code .md} / {@code .html} / {@code .xml}) and what the command printed ({@code 02-prune.log});
 * at the end {@code summary.md} and {@code summary.json}. A failed gate does not stop the run: the
 * remaining steps still run and the exit code is 1.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run a recipe: a model and its optimize, prune, quantize, validate and export steps.",
                "The recipe (docs/recipes.md) names a model, then optimize, prune, finetune, quantize, validate"
                        + " and export steps in order, each taking the options of the command of the same name."
                        + " Writes every step's model and reports, and summary.md/summary.json, into DIR; exits 1"
                        + " when a validate step's gate fails."})
public final class RunCommand implements Callable<Integer> {
    /** The summary's schema name. */
    static final String SCHEMA = "slimnx.recipe-summary/1";

    /** Options the runner sets itself: a recipe may not. */
    private static final Set<String> RESERVED = Set.of("output", "o", "report", "force", "help", "version", "list");

    /** Recipe keys that read better than the option's name (a list of gates), option name → key. */
    private static final Map<String, String> KEY_OF_OPTION = Map.of("gate", "gates", "pass-option", "options");

    /** Path options that name something the step writes, not a file that must exist. */
    private static final Set<String> OUTPUT_PATHS = Set.of("checkpoint-dir");

    private static final Pattern OPTION_FIRST = Pattern.compile("^--([a-z0-9][a-z0-9-]*):? (?!and |or )(.*)$");

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "RECIPE", description = "the recipe (YAML)")
    Path recipeFile;

    @Option(names = "--out", paramLabel = "DIR",
            description = "where to write the results (default: RECIPE's name + .out, next to it)")
    Path outDir;

    /**
     * A step as it will run.
     *
     * @param step the recipe's step
     * @param args the {@code slimnx} command line that runs it
     * @param model the model file it writes, or null (validate)
     * @param reports the report files it writes
     */
    record Planned(Recipe.Step step, List<String> args, Path model, List<Path> reports) {
    }

    @Override
    public Integer call() throws Exception {
        Recipe recipe = Recipe.read(recipeFile);
        Path dir = outDir != null ? outDir : recipe.dir().resolve(recipe.name() + ".out");
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UserError(dir + ": is a file; --out needs a folder");
        }
        List<Planned> plan = plan(recipe, dir);
        Files.createDirectories(dir);
        PrintWriter out = spec.commandLine().getOut();
        out.printf("recipe %s: %d steps, seed %d, writing into %s%n", recipe.file(), plan.size(), recipe.seed(), dir);
        List<Map<String, Object>> rows = new ArrayList<>();
        rows.add(row("input", recipe.model(), null, 0, ExitCode.OK));
        int exit = ExitCode.OK;
        Path current = recipe.model();
        for (Planned p : plan) {
            String label = String.format("[%d/%d] %s", p.step().index() + 1, plan.size(), p.step().kind());
            spec.commandLine().getErr().println(label + " ...");
            CommandLine cl = SlimnxCommand.commandLine();
            StringWriter log = new StringWriter();
            cl.setOut(new PrintWriter(log, true));
            cl.setErr(new PrintWriter(log, true));
            long t0 = System.nanoTime();
            int code = cl.execute(p.args().toArray(String[]::new));
            double seconds = (System.nanoTime() - t0) / 1e9;
            Path logFile = dir.resolve(p.step().stem() + ".log");
            Files.writeString(logFile, log.toString());
            if (code != ExitCode.OK && code != ExitCode.GATE_FAILED) {
                writeSummary(recipe, dir, rows, code);
                spec.commandLine().getErr().printf("%s: %s: %s: failed (exit %d): %s (log: %s)%n", spec.qualifiedName(),
                        recipe.file(), p.step().path(), code, lastLine(log.toString()), logFile);
                return code;
            }
            if (code == ExitCode.GATE_FAILED) {
                exit = ExitCode.GATE_FAILED;
            }
            if (p.model() != null) {
                current = p.model();
            }
            Map<String, Object> row = row(p.step().stem(), current, p, seconds, code);
            rows.add(row);
            out.println(label + ": " + describe(row, dir));
        }
        writeSummary(recipe, dir, rows, exit);
        out.printf("summary: %s%n", dir.resolve("summary.md"));
        return exit;
    }

    /**
     * Every step's command line, each parsed and checked by its command; writes nothing.
     *
     * @param recipe the recipe
     * @param dir the output folder (it need not exist yet)
     * @return the steps as they will run
     * @throws UserError naming the file and the key path of the first problem
     */
    static List<Planned> plan(Recipe recipe, Path dir) {
        List<Planned> plan = new ArrayList<>();
        Path current = recipe.model();
        for (Recipe.Step step : recipe.steps()) {
            CommandLine command = SlimnxCommand.commandLine().getSubcommands().get(step.kind());
            if (command == null) {
                // NOTE: every kind in Recipe.KINDS names a command of SlimnxCommand; a kind added to
                // the list before its command is refused here rather than failing mid-recipe
                throw recipe.error(step.path(), "slimnx " + step.kind() + " is not available yet in this build");
            }
            CommandSpec target = command.getCommandSpec();
            List<String> args = new ArrayList<>();
            args.add(step.kind());
            Path model = null;
            List<Path> reports = new ArrayList<>();
            if (step.kind().equals("validate")) {
                args.add(recipe.model().toString());
                args.add(current.toString());
                for (String ext : List.of("json", "md", "html", "xml")) {
                    reports.add(dir.resolve(step.stem() + "." + ext));
                }
            } else {
                args.add(current.toString());
                model = dir.resolve(step.stem() + "." + modelExtension(step));
                args.add("-o");
                args.add(model.toString());
                if (step.kind().equals("prune") || step.kind().equals("export") && step.options().containsKey("check-mobile")) {
                    reports.add(dir.resolve(step.stem() + ".json"));
                }
            }
            for (Path r : reports) {
                args.add("--report");
                args.add(r.toString());
            }
            if (model != null && model.getFileName().toString().endsWith(".ort")) {
                reports.add(dir.resolve(ExportCommand.OPERATOR_CONFIG));
            }
            if (step.kind().equals("finetune") && !step.options().containsKey("teacher")) {
                // NOTE: a recipe's fine-tune recovers what compression lost, so it distils from the
                // recipe's input model unless the step names another teacher
                args.add("--teacher");
                args.add(recipe.model().toString());
            }
            for (Map.Entry<String, JsonNode> e : step.options().entrySet()) {
                addOption(recipe, step, target, e.getKey(), e.getValue(), args);
            }
            if (target.findOption("--derived-from") != null && !step.options().containsKey("derived-from")) {
                // NOTE: a step's input is a model the recipe made; the reference model it came from
                // still supplies the data defaults (calibration subset, training subset, test set)
                args.add("--derived-from");
                args.add(recipe.model().toString());
            }
            if (target.findOption("--seed") != null && !step.options().containsKey("seed")) {
                args.add("--seed");
                args.add(Long.toString(recipe.seed()));
            }
            check(recipe, step, args);
            plan.add(new Planned(step, List.copyOf(args), model, List.copyOf(reports)));
            if (model != null && !step.kind().equals("export")) {
                current = model;
            }
        }
        return plan;
    }

    /**
     * The export step writes ONNX Runtime's format as {@code .ort} unless it asks for
     * {@code format: onnx} (the command's own default for a file not named .onnx); every other
     * model is {@code .onnx}.
     */
    private static String modelExtension(Recipe.Step step) {
        JsonNode format = step.options().get("format");
        return step.kind().equals("export") && (format == null || !format.asText().equalsIgnoreCase("onnx")) ? "ort" : "onnx";
    }

    /** One recipe key as command-line arguments of the step's command. */
    private static void addOption(Recipe recipe, Recipe.Step step, CommandSpec target, String key, JsonNode value,
                                  List<String> args) {
        String where = step.path() + "." + key;
        String name = KEY_OF_OPTION.entrySet().stream().filter(e -> e.getValue().equals(key))
                .map(Map.Entry::getKey).findFirst().orElse(key);
        OptionSpec option = RESERVED.contains(name) ? null : target.findOption("--" + name);
        if (option == null) {
            throw recipe.error(where, RESERVED.contains(name) ? "set by the recipe runner; remove it"
                    : "unknown key; the " + step.kind() + " step takes " + keys(target));
        }
        if (name.equals("pass-option")) {
            passOptions(recipe, where, value, args);
            return;
        }
        boolean flag = (option.type() == boolean.class || option.type() == Boolean.class) && option.arity().min() == 0;
        if (flag) {
            if (!value.isBoolean()) {
                throw recipe.error(where, "must be true or false, got " + value);
            }
            if (value.asBoolean()) {
                args.add("--" + name);
            } else if (option.negatable()) {
                args.add("--no-" + name);
            }
            return;
        }
        List<String> values = new ArrayList<>();
        if (value.isArray()) {
            if (!option.isMultiValue()) {
                throw recipe.error(where, "takes one value, got a list");
            }
            value.forEach(v -> values.add(scalar(recipe, where, v)));
        } else {
            values.add(scalar(recipe, where, value));
        }
        boolean path = option.type() == Path.class
                || option.auxiliaryTypes().length > 0 && option.auxiliaryTypes()[0] == Path.class;
        for (int i = 0; i < values.size(); i++) {
            if (path) {
                Path p = recipe.dir().resolve(values.get(i)).normalize();
                if (!OUTPUT_PATHS.contains(name) && !Files.exists(p)) {
                    throw recipe.error(where, p + ": no such file");
                }
                values.set(i, p.toString());
            }
        }
        if (option.splitRegex().isEmpty()) {
            for (String v : values) {
                args.add("--" + name);
                args.add(v);
            }
        } else {
            args.add("--" + name);
            args.add(String.join(",", values));
        }
    }

    /** {@code options: {fold-constants: {max-growth-bytes: 1M}}} → {@code --pass-option fold-constants.max-growth-bytes=1M}. */
    private static void passOptions(Recipe recipe, String where, JsonNode value, List<String> args) {
        if (!value.isObject()) {
            throw recipe.error(where, "give a mapping from pass id to its options, e.g. {fold-constants: "
                    + "{max-growth-bytes: 1M}}");
        }
        value.fields().forEachRemaining(pass -> {
            if (!pass.getValue().isObject()) {
                throw recipe.error(where + "." + pass.getKey(), "give the pass's options as a mapping, got "
                        + pass.getValue());
            }
            pass.getValue().fields().forEachRemaining(o -> {
                args.add("--pass-option");
                args.add(pass.getKey() + "." + o.getKey() + "="
                        + scalar(recipe, where + "." + pass.getKey() + "." + o.getKey(), o.getValue()));
            });
        });
    }

    private static String scalar(Recipe recipe, String where, JsonNode v) {
        if (!v.isValueNode() || v.isNull()) {
            throw recipe.error(where, "must be a number, a word or a list of them, got " + v);
        }
        return v.asText();
    }

    private static String keys(CommandSpec target) {
        List<String> keys = new ArrayList<>();
        for (OptionSpec o : target.options()) {
            String n = o.longestName().replaceFirst("^--?", "");
            if (!RESERVED.contains(n)) {
                keys.add(KEY_OF_OPTION.getOrDefault(n, n));
            }
        }
        return String.join(", ", keys);
    }

    /** Parses the step's command line and lets the command check its values, reading no file. */
    private static void check(Recipe recipe, Recipe.Step step, List<String> args) {
        CommandLine cl = SlimnxCommand.commandLine();
        try {
            CommandLine.ParseResult parsed = cl.parseArgs(args.toArray(String[]::new));
            CommandSpec command = parsed.subcommand().commandSpec();
            if (command.userObject() instanceof CheckedOptions c) {
                c.checkOptions();
            }
            for (CommandSpec mixin : command.mixins().values()) {
                if (mixin.userObject() instanceof DataOptions d) {
                    d.toSpec(null);
                }
            }
        } catch (CommandLine.ParameterException e) {
            String key = e.getArgSpec() instanceof OptionSpec o ? keyOf(o.longestName()) : null;
            String message = e.getMessage().replaceFirst("^Invalid value for option '[^']*': ", "");
            throw recipe.error(key == null ? step.path() : step.path() + "." + key, recipeWords(message));
        } catch (UserError e) {
            Matcher m = OPTION_FIRST.matcher(e.getMessage());
            throw m.matches() ? recipe.error(step.path() + "." + keyOf(m.group(1)), recipeWords(m.group(2)))
                    : recipe.error(step.path(), recipeWords(e.getMessage()));
        }
    }

    private static String keyOf(String option) {
        String n = option.replaceFirst("^--?", "");
        return KEY_OF_OPTION.getOrDefault(n, n);
    }

    /** A command's message speaks of {@code --option}s; in a recipe they are keys. */
    private static String recipeWords(String message) {
        return message.replaceAll("(?<![\\w-])--([a-z][a-z0-9-]*)", "$1");
    }

    private static String lastLine(String log) {
        String[] lines = log.strip().split("\n");
        return lines.length == 0 ? "" : lines[lines.length - 1].strip();
    }

    /** One line of the summary: the model after the step, its size, and the step's metric and time. */
    private static Map<String, Object> row(String name, Path model, Planned p, double seconds, int code)
            throws IOException {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", name);
        row.put("model", model.toString());
        if (model.getFileName().toString().endsWith(".onnx")) {
            ModelStats stats = ModelStats.of(OnnxReader.read(model));
            row.put("params", stats.parameterCount());
            row.put("macs", stats.totalMacs());
        }
        row.put("bytes", Files.size(model));
        if (p != null) {
            if (!p.reports().isEmpty()) {
                row.put("reports", p.reports().stream().map(r -> r.getFileName().toString()).toList());
            }
            if (p.step().kind().equals("validate")) {
                JsonNode report = Reports.json().readTree(p.reports().getFirst().toFile());
                JsonNode acc = report.get("accuracy");
                if (acc != null && !acc.isNull()) {
                    row.put("top1_baseline", acc.get("baseline_top1").asDouble());
                    row.put("top1", acc.get("candidate_top1").asDouble());
                }
                List<String> failed = new ArrayList<>();
                report.get("gates").forEach(g -> {
                    if (!g.get("passed").asBoolean()) {
                        failed.add(g.get("expression").asText());
                    }
                });
                List<Map<String, Object>> latency = new ArrayList<>();
                JsonNode runs = report.get("latency");
                if (runs != null && runs.isArray()) {
                    runs.forEach(l -> {
                        if (l.hasNonNull("p50_speedup")) {
                            Map<String, Object> one = new LinkedHashMap<>();
                            one.put("batch", l.get("batch").asInt());
                            one.put("p50_speedup", l.get("p50_speedup").asDouble());
                            one.put("verdict", l.path("verdict").asText());
                            latency.add(one);
                        }
                    });
                }
                row.put("latency", latency);
                row.put("gates", report.get("gates").size());
                row.put("gates_failed", failed);
            }
            row.put("seconds", Math.round(seconds * 10) / 10.0);
        }
        row.put("exit_code", code);
        return row;
    }

    private static String describe(Map<String, Object> row, Path dir) {
        StringBuilder s = new StringBuilder();
        if (row.containsKey("top1")) {
            s.append(String.format(Locale.ROOT, "top-1 %.4f (baseline %.4f), ", (double) row.get("top1"),
                    (double) row.get("top1_baseline")));
        }
        if (row.containsKey("gates")) {
            List<?> failed = (List<?>) row.get("gates_failed");
            s.append(failed.isEmpty() ? row.get("gates") + (Integer.valueOf(1).equals(row.get("gates")) ? " gate" : " gates")
                    + " passed, " : "gate failed: " + failed + ", ");
        } else {
            s.append(dir.relativize(Path.of((String) row.get("model")))).append(": ");
        }
        if (row.containsKey("params")) {
            s.append("params ").append(Format.grouped((long) row.get("params"))).append(", MACs ")
                    .append(Format.count((long) row.get("macs"))).append(", ");
        }
        s.append(Format.bytes((long) row.get("bytes"))).append(", ").append(row.get("seconds")).append(" s");
        return s.toString();
    }

    private static void writeSummary(Recipe recipe, Path dir, List<Map<String, Object>> rows, int exit)
            throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("schema", SCHEMA);
        json.put("recipe", recipe.file().toString());
        json.put("model", recipe.model().toString());
        json.put("seed", recipe.seed());
        json.put("exit_code", exit);
        json.put("steps", rows);
        Files.writeString(dir.resolve("summary.json"), Reports.json().writeValueAsString(json) + "\n");
        StringBuilder md = new StringBuilder();
        md.append("# Recipe ").append(recipe.name()).append("\n\n");
        md.append("Model `").append(recipe.model()).append("`, seed ").append(recipe.seed()).append(", exit code ")
                .append(exit).append(exit == ExitCode.GATE_FAILED ? " (a gate failed)" : "").append(".\n\n");
        md.append("| step | model | params | MACs | size | top-1 | p50 speed-up vs baseline | gates | time (s) |\n");
        md.append("| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: |\n");
        for (Map<String, Object> r : rows) {
            Object top1 = r.get("top1");
            Object gates = r.get("gates");
            md.append("| ").append(r.get("step"))
                    .append(" | ").append(Path.of((String) r.get("model")).getFileName())
                    .append(" | ").append(r.containsKey("params") ? Format.grouped((long) r.get("params")) : "")
                    .append(" | ").append(r.containsKey("macs") ? Format.count((long) r.get("macs")) : "")
                    .append(" | ").append(Format.bytes((long) r.get("bytes")))
                    .append(" | ").append(top1 == null ? "" : String.format(Locale.ROOT, "%.4f", (double) top1))
                    .append(" | ").append(speedups(r.get("latency")))
                    .append(" | ").append(gates == null ? "" : ((List<?>) r.get("gates_failed")).isEmpty()
                            ? "passed" : "failed: " + String.join("; ", castStrings(r.get("gates_failed"))))
                    .append(" | ").append(r.getOrDefault("seconds", "")).append(" |\n");
        }
        Files.writeString(dir.resolve("summary.md"), md.toString());
    }

    /** @return "1.63× @32, 1.21× @1" from a validate row's latency list, or empty */
    private static String speedups(Object latency) {
        if (!(latency instanceof List<?> runs)) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        for (Object o : runs) {
            Map<?, ?> m = (Map<?, ?>) o;
            parts.add(String.format(Locale.ROOT, "%.2f× @%s", (double) m.get("p50_speedup"), m.get("batch")));
        }
        return String.join(", ", parts);
    }

    private static List<String> castStrings(Object list) {
        List<String> out = new ArrayList<>();
        for (Object o : (List<?>) list) {
            out.add(String.valueOf(o));
        }
        return out;
    }
}
