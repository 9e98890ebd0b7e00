package dev.slimnx.passes;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Option values given by name (from the command line or a recipe), checked against what a pass
 * declares and converted to the types of its options record.
 */
public final class PassOptions {
    private final PassDescriptor descriptor;
    private final Map<String, String> values;

    /**
     * @param descriptor the pass the options are for
     * @param given values by option name
     * @throws IllegalArgumentException naming the unknown option and the known ones
     */
    PassOptions(PassDescriptor descriptor, Map<String, String> given) {
        this.descriptor = descriptor;
        this.values = new TreeMap<>();
        for (PassOption o : descriptor.options()) {
            values.put(o.name(), o.defaultValue());
        }
        for (Map.Entry<String, String> e : given.entrySet()) {
            if (!values.containsKey(e.getKey())) {
                List<String> known = descriptor.options().stream().map(PassOption::name).toList();
                throw new IllegalArgumentException("pass " + descriptor.id() + " has no option '" + e.getKey() + "'"
                        + (known.isEmpty() ? " (it takes none)" : "; its options: " + String.join(", ", known)));
            }
            values.put(e.getKey(), e.getValue());
        }
    }

    /** @return the value as text */
    public String string(String name) {
        String v = values.get(name);
        if (v == null) {
            throw new IllegalStateException("pass " + descriptor.id() + " reads undeclared option " + name);
        }
        return v;
    }

    /**
     * @return the value as a long; accepts suffixes k, M, G (powers of 1024) for sizes
     * @throws IllegalArgumentException when it is not a number
     */
    public long longValue(String name) {
        String v = string(name).strip();
        long unit = 1;
        String digits = v;
        char last = v.isEmpty() ? ' ' : Character.toUpperCase(v.charAt(v.length() - 1));
        if (last == 'K' || last == 'M' || last == 'G') {
            unit = last == 'K' ? 1L << 10 : last == 'M' ? 1L << 20 : 1L << 30;
            digits = v.substring(0, v.length() - 1);
        }
        try {
            return Math.multiplyExact(Long.parseLong(digits), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw bad(name, v, "an integer (k, M, G suffixes allowed)");
        }
    }

    /** @return the value as a double */
    public double doubleValue(String name) {
        String v = string(name).strip();
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw bad(name, v, "a number");
        }
    }

    /** @return the value as a boolean ({@code true}/{@code false}) */
    public boolean booleanValue(String name) {
        String v = string(name).strip().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw bad(name, v, "true or false");
        };
    }

    private IllegalArgumentException bad(String name, String value, String expected) {
        return new IllegalArgumentException("pass " + descriptor.id() + " option " + name + ": '" + value
                + "' is not " + expected);
    }
}
