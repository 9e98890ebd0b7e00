package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.Dim;
import java.util.ArrayList;
import java.util.List;

/**
 * A dim read as a product: a known coefficient times symbols, such as {@code 4*batch}.
 *
 * <p>Why it exists: MobileViT's unfold reshapes {@code [batch, 48, 14, 14]} into
 * {@code [batch·4, 49, 48]} and its fold reshapes back with {@code -1}. Naming the middle dim
 * {@code 4*batch} (the spelling ONNX Runtime's symbolic shape tooling uses) instead of giving up
 * lets the fold cancel the factor and recover {@code batch}. A symbolic dim whose name contains
 * {@code *} is read as such a product; any other symbol is a single factor.
 *
 * @param coefficient the known factor
 * @param symbols the symbolic factors, sorted, with repetition
 */
public record DimProduct(long coefficient, List<String> symbols) {
    public DimProduct {
        symbols = symbols.stream().sorted().toList();
    }

    /**
     * @param dim a known or symbolic dim
     * @return the dim as a product, or null when its size is unknown
     */
    public static DimProduct of(Dim dim) {
        if (dim.isKnown()) {
            return new DimProduct(dim.value(), List.of());
        }
        if (!dim.isSymbolic()) {
            return null;
        }
        String name = dim.param();
        if (!name.contains("*")) {
            return new DimProduct(1, List.of(name));
        }
        long coefficient = 1;
        List<String> symbols = new ArrayList<>();
        for (String part : name.split("\\*")) {
            String factor = part.strip();
            if (factor.isEmpty()) {
                return new DimProduct(1, List.of(name));
            }
            Long number = parseCount(factor);
            if (number != null) {
                coefficient = Math.multiplyExact(coefficient, number);
            } else {
                symbols.add(factor);
            }
        }
        return new DimProduct(coefficient, symbols);
    }

    /** @return this times {@code other} */
    public DimProduct times(DimProduct other) {
        List<String> all = new ArrayList<>(symbols);
        all.addAll(other.symbols);
        return new DimProduct(Math.multiplyExact(coefficient, other.coefficient), all);
    }

    /**
     * @return this over {@code divisor}, or null when the division is not exact (a symbol of the
     *     divisor missing here, a coefficient that does not divide, a zero divisor)
     */
    public DimProduct dividedBy(DimProduct divisor) {
        if (divisor.coefficient == 0 || coefficient % divisor.coefficient != 0) {
            return null;
        }
        List<String> left = new ArrayList<>(symbols);
        for (String s : divisor.symbols) {
            if (!left.remove(s)) {
                return null;
            }
        }
        return new DimProduct(coefficient / divisor.coefficient, left);
    }

    /** @return the product as a dim: known when no symbol is left, else e.g. {@code 4*batch} */
    public Dim toDim() {
        if (symbols.isEmpty()) {
            return Dim.of(coefficient);
        }
        if (coefficient == 0) {
            return Dim.of(0);
        }
        List<String> parts = new ArrayList<>();
        if (coefficient != 1) {
            parts.add(Long.toString(coefficient));
        }
        parts.addAll(symbols);
        return Dim.symbolic(String.join("*", parts));
    }

    private static Long parseCount(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return null;
            }
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException tooLong) {
            return null;
        }
    }
}
