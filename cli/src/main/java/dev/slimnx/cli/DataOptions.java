package dev.slimnx.cli;

import dev.slimnx.validate.data.DataSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The data options every command that reads data shares (a picocli mixin): preprocessing
 * ({@code --mean}, {@code --std}, {@code --scale}, {@code --resize}, {@code --crop},
 * {@code --layout}), selection ({@code --limit}, {@code --split}, {@code --input}) and synthetic
 * data ({@code --shape}, {@code --seed}).
 *
 * <p>NOTE: the source path is not in the mixin. picocli fixes an option's names where the option is
 * declared, and the commands name their source differently ({@code validate --data},
 * {@code quantize --calib}, {@code prune --calib}, {@code finetune --data}). So each command
 * declares its own source option, with its own description, and passes the value to
 * {@link #toSpec(Path)}:
 * <pre>{@code
 * @Option(names = "--calib", paramLabel = "DATA") Path calib;
 * @Mixin DataOptions data;
 * ... Datasets.open(data.toSpec(calib), model, "train") ...
 * }</pre>
 *
 * <p>Every field is null until the user gives the option, so {@link #toSpec(Path, DataSpec)} can lay
 * what the user said over other defaults (a reference model's manifest), instead of the user's
 * choices being indistinguishable from the built-in defaults.
 */
public final class DataOptions {
    @Option(names = "--mean", paramLabel = "M[,M...]",
            description = "per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406 (one value: all channels; default 0)")
    String mean;

    @Option(names = "--std", paramLabel = "S[,S...]",
            description = "per-channel standard deviation divided by after the mean (default 1)")
    String std;

    @Option(names = "--scale", paramLabel = "X",
            description = "multiplier of raw pixel values, a number or a fraction such as 1/255 (default 1/255)")
    String scale;

    @Option(names = "--resize", paramLabel = "PX", description = "resize images so the shorter side is PX (bilinear)")
    Integer resize;

    @Option(names = "--crop", paramLabel = "PX", description = "centre-crop images to PX x PX (after --resize)")
    Integer crop;

    @Option(names = "--layout", paramLabel = "nchw|nhwc", description = "image tensor layout (default nchw)")
    String layout;

    @Option(names = "--limit", paramLabel = "N", description = "use at most N items (default: all; synthetic data: 64)")
    Integer limit;

    @Option(names = "--split", paramLabel = "train|test",
            description = "which split of a folder holding both IDX splits (default: the command's)")
    String split;

    @Option(names = "--input", paramLabel = "NAME", description = "the model input the data feeds, when the model has several")
    String input;

    @Option(names = "--shape", paramLabel = "NAME=DIMS",
            description = "shape of a model input for synthetic data, e.g. pixels=1x3x224x224 (repeatable)")
    List<String> shapes;

    @Option(names = "--seed", paramLabel = "N", description = "seed of synthetic data (default 0)")
    Long seed;

    /**
     * @param source the data path the command read (its {@code --data} or {@code --calib}), or null for synthetic data
     * @return the spec with the built-in defaults for what the user did not give
     * @throws UserError if an option value is invalid; the message names the option
     */
    public DataSpec toSpec(Path source) {
        return toSpec(source, defaults(source));
    }

    /**
     * @param source the data path, or null for synthetic data
     * @param defaults values for the options the user did not give (e.g. a reference model's manifest)
     * @return the spec
     * @throws UserError if an option value is invalid; the message names the option
     */
    public DataSpec toSpec(Path source, DataSpec defaults) {
        double sc = scale == null ? defaults.scale() : number("--scale", scale);
        if (!(sc > 0)) {
            throw new UserError("--scale must be positive, got " + scale);
        }
        List<Double> m = mean == null ? defaults.mean() : numbers("--mean", mean);
        List<Double> s = std == null ? defaults.std() : numbers("--std", std);
        for (double v : s) {
            if (!(v > 0)) {
                throw new UserError("--std values must be positive, got " + std);
            }
        }
        int rs = nonNegative("--resize", resize, defaults.resize());
        int cr = nonNegative("--crop", crop, defaults.crop());
        if (rs > 0 && cr > rs) {
            throw new UserError("--crop " + cr + " is larger than --resize " + rs + " (the shorter side after resizing)");
        }
        String lay = layout == null ? defaults.layout() : layout.toUpperCase(Locale.ROOT);
        if (!lay.equals("NCHW") && !lay.equals("NHWC")) {
            throw new UserError("--layout must be nchw or nhwc, got '" + layout + "'");
        }
        String sp = split == null ? defaults.split() : split.toLowerCase(Locale.ROOT);
        if (sp != null && !sp.equals("train") && !sp.equals("test")) {
            throw new UserError("--split must be train or test, got '" + split + "'");
        }
        return new DataSpec(source, sp, sc, m, s, rs, cr, lay, nonNegative("--limit", limit, defaults.limit()),
                input == null ? defaults.input() : input, shapes == null ? defaults.shapes() : shapeMap(shapes),
                seed == null ? defaults.seed() : seed);
    }

    /**
     * @param source the data path, or null
     * @return the built-in defaults: scale 1/255, mean 0, std 1, no resize or crop, NCHW, no limit
     */
    public static DataSpec defaults(Path source) {
        return new DataSpec(source, null, 1.0 / 255, List.of(0.0), List.of(1.0), 0, 0, "NCHW", 0, null, Map.of(), 0);
    }

    private static int nonNegative(String option, Integer value, int fallback) {
        if (value == null) {
            return fallback;
        }
        if (value < 0) {
            throw new UserError(option + " must be >= 0, got " + value);
        }
        return value;
    }

    private static List<Double> numbers(String option, String list) {
        List<Double> out = new ArrayList<>();
        for (String part : list.split(",", -1)) {
            out.add(number(option, part));
        }
        return out;
    }

    /** A decimal number or a fraction {@code a/b}: {@code --scale 1/255} reads as the user means it. */
    static double number(String option, String text) {
        String t = text.strip();
        try {
            int slash = t.indexOf('/');
            double v = slash < 0 ? Double.parseDouble(t)
                    : Double.parseDouble(t.substring(0, slash)) / Double.parseDouble(t.substring(slash + 1));
            if (Double.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UserError(option + ": '" + text + "' is not a number (write e.g. 0.5 or 1/255)");
    }

    private static Map<String, long[]> shapeMap(List<String> specs) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (String spec : specs) {
            int eq = spec.lastIndexOf('=');
            if (eq <= 0 || eq == spec.length() - 1) {
                throw new UserError("--shape must be NAME=DIMS such as pixels=1x3x224x224, got '" + spec + "'");
            }
            String name = spec.substring(0, eq);
            String[] parts = spec.substring(eq + 1).split("x", -1);
            long[] dims = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    dims[i] = Long.parseLong(parts[i].strip());
                } catch (NumberFormatException e) {
                    dims[i] = -1;
                }
                if (dims[i] <= 0) {
                    throw new UserError("--shape " + name + ": '" + parts[i] + "' is not a positive size (write e.g. "
                            + name + "=1x3x224x224)");
                }
            }
            if (out.put(name, dims) != null) {
                throw new UserError("--shape gives '" + name + "' twice");
            }
        }
        return out;
    }
}
