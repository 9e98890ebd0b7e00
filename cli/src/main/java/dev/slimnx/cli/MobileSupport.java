package dev.slimnx.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What one phone execution provider of ONNX Runtime can take, read from a data file in
 * {@code dev/slimnx/cli/mobile/} (one per provider; the file cites where its facts come from).
 * Rows are {@code op | since | until | constant inputs | input ranks | note}.
 *
 * @param id the name on the command line ({@code nnapi})
 * @param name the provider's name in reports
 * @param source where the table's facts come from
 * @param types element types the provider's tensors can have ({@code float32}, ...)
 * @param staticShapesRequired whether every tensor a node touches must have a static shape
 * @param rules by {@code domain:Op}, the default domain written {@code ai.onnx}
 */
record MobileSupport(String id, String name, String source, Set<String> types, boolean staticShapesRequired,
                     Map<String, Rule> rules) {
    /** The providers slimnx has tables for. */
    static final List<String> KNOWN = List.of("nnapi", "coreml");

    /**
     * One supported op.
     *
     * @param since the first opset taken
     * @param until the last opset taken ({@link Integer#MAX_VALUE} for any)
     * @param constantInputs input indices that must be constants
     * @param ranks ranks input 0 may have (empty: any)
     * @param note the condition as the source states it
     */
    record Rule(int since, int until, List<Integer> constantInputs, List<Integer> ranks, String note) {
    }

    /**
     * @param given names from {@code --check-mobile}
     * @return their tables, in the order given
     * @throws UserError for a name slimnx has no table for
     */
    static List<MobileSupport> parseList(List<String> given) {
        List<MobileSupport> out = new ArrayList<>();
        for (String g : new LinkedHashSet<>(given)) {
            String id = g.trim().toLowerCase(Locale.ROOT);
            if (!KNOWN.contains(id)) {
                throw new UserError("--check-mobile: unknown execution provider '" + g + "'; known: "
                        + String.join(", ", KNOWN));
            }
            out.add(load(id));
        }
        return out;
    }

    /**
     * @param id {@code nnapi} or {@code coreml}
     * @return the table
     */
    static MobileSupport load(String id) {
        String resource = "mobile/" + id + ".txt";
        try (InputStream in = MobileSupport.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + resource);
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), resource);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Parses a table; a malformed row is a bug in slimnx's data, so it fails loudly. */
    static MobileSupport parse(String text, String where) {
        Map<String, String> directives = new LinkedHashMap<>();
        Map<String, Rule> rules = new LinkedHashMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("@")) {
                int sp = line.indexOf(' ');
                directives.put(line.substring(1, sp), line.substring(sp + 1).strip());
                continue;
            }
            String[] f = line.split("\\|", -1);
            if (f.length != 6) {
                throw new IllegalStateException(where + ":" + (i + 1) + ": want 6 fields, got " + f.length);
            }
            String op = f[0].strip();
            String key = op.contains(":") ? op : "ai.onnx:" + op;
            String until = f[2].strip();
            rules.put(key, new Rule(Integer.parseInt(f[1].strip()), until.equals("*") ? Integer.MAX_VALUE
                    : Integer.parseInt(until), ints(f[3]), ints(f[4]), f[5].strip()));
        }
        return new MobileSupport(directives.get("id"), directives.get("name"), directives.get("source"),
                Set.copyOf(Arrays.asList(directives.get("types").split(","))),
                "required".equals(directives.get("static-shapes")), rules);
    }

    private static List<Integer> ints(String field) {
        String s = field.strip();
        return s.isEmpty() ? List.of() : Arrays.stream(s.split(",")).map(x -> Integer.parseInt(x.strip())).toList();
    }
}
