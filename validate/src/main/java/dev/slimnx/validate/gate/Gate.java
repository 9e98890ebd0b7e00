package dev.slimnx.validate.gate;

import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A condition on one report field: {@code FIELD OP NUMBER} with OP one of {@code <= >= < > == !=}.
 * Fields are the names listed by the report ({@code top1_drop}, {@code agreement},
 * {@code p50_speedup}, {@code p50_speedup@32}, {@code size_ratio}, ...).
 *
 * @param expression the text as given
 * @param field the report field
 * @param op the comparison
 * @param threshold the number compared against
 */
public record Gate(String expression, String field, Op op, double threshold) {
    private static final Pattern FORM = Pattern.compile("\\s*([A-Za-z_][A-Za-z0-9_]*(?:@[0-9]+|:[A-Za-z0-9_.:/-]+)?)\\s*(<=|>=|==|!=|<|>)\\s*([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*");

    /** Comparisons a gate can make. */
    public enum Op {
        LE("<="), GE(">="), LT("<"), GT(">"), EQ("=="), NE("!=");

        private final String symbol;

        Op(String symbol) {
            this.symbol = symbol;
        }

        /** @return the operator as written */
        public String symbol() {
            return symbol;
        }

        boolean holds(double value, double threshold) {
            return switch (this) {
                case LE -> value <= threshold;
                case GE -> value >= threshold;
                case LT -> value < threshold;
                case GT -> value > threshold;
                case EQ -> value == threshold;
                case NE -> value != threshold;
            };
        }
    }

    /**
     * @param expression e.g. {@code top1_drop <= 0.5}
     * @return the gate
     * @throws IllegalArgumentException with the expected form if the text is not a gate
     */
    public static Gate parse(String expression) {
        Matcher m = FORM.matcher(expression);
        if (!m.matches()) {
            throw new IllegalArgumentException("gate '" + expression + "' is not of the form FIELD OP NUMBER"
                    + " (e.g. 'top1_drop <= 0.5'; OP is one of <= >= < > == !=)");
        }
        Op op = null;
        for (Op o : Op.values()) {
            if (o.symbol.equals(m.group(2))) {
                op = o;
            }
        }
        return new Gate(expression.strip(), m.group(1), op, Double.parseDouble(m.group(3)));
    }

    /**
     * The outcome of a gate on a report.
     *
     * @param gate the gate
     * @param value the field's value (NaN when the report could not compute it)
     * @param passed whether the condition holds
     * @param message one line saying what happened, with the margin when it failed
     */
    public record Result(Gate gate, double value, boolean passed, String message) {
    }

    /**
     * @param fields the report's gate fields
     * @return the outcome
     * @throws IllegalArgumentException naming the known fields if this gate's field is not among them
     */
    public Result evaluate(Map<String, Double> fields) {
        Double value = fields.get(field);
        if (value == null) {
            throw new IllegalArgumentException("gate '" + expression + "': unknown field '" + field + "'; known: "
                    + String.join(", ", new TreeSet<>(fields.keySet())));
        }
        if (value.isNaN()) {
            return new Result(this, value, false, expression + ": FAILED, " + field
                    + " could not be measured (no labels, or no latency run?)");
        }
        boolean ok = op.holds(value, threshold);
        String shown = String.format(Locale.ROOT, "%s = %.4g", field, value);
        return new Result(this, value, ok, ok ? expression + ": passed (" + shown + ")"
                : String.format(Locale.ROOT, "%s: FAILED (%s, misses by %.4g)", expression, shown, Math.abs(value - threshold)));
    }
}
