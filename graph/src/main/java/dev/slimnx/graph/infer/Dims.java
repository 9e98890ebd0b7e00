package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/** Arithmetic on dims that may be symbolic or unknown; results are unknown when not determined. */
final class Dims {
    private Dims() {
    }

    /** The product; symbolic factors multiply into a product dim such as {@code 4*batch}. */
    static Dim mul(Dim a, Dim b) {
        DimProduct pa = DimProduct.of(a);
        DimProduct pb = DimProduct.of(b);
        if (pa != null && pb != null) {
            return pa.times(pb).toDim();
        }
        if (a.isKnown() && a.value() == 1) {
            return b;
        }
        if (b.isKnown() && b.value() == 1) {
            return a;
        }
        if ((a.isKnown() && a.value() == 0) || (b.isKnown() && b.value() == 0)) {
            return Dim.of(0);
        }
        return Dim.unknown();
    }

    static Dim add(Dim a, Dim b) {
        if (a.isKnown() && b.isKnown()) {
            return Dim.of(a.value() + b.value());
        }
        if (a.isKnown() && a.value() == 0) {
            return b;
        }
        if (b.isKnown() && b.value() == 0) {
            return a;
        }
        return Dim.unknown();
    }

    static Dim sub(Dim a, Dim b) {
        if (a.isKnown() && b.isKnown()) {
            return Dim.of(a.value() - b.value());
        }
        if (b.isKnown() && b.value() == 0) {
            return a;
        }
        if (a.equals(b) && a.isSymbolic()) {
            return Dim.of(0);
        }
        return Dim.unknown();
    }

    /**
     * Integer division as ONNX Div does on int64 (truncating); symbolic operands divide when the
     * division is exact ({@code 4*batch / 4 = batch}).
     */
    static Dim div(Dim a, Dim b) {
        if (a.isKnown() && b.isKnown() && b.value() != 0) {
            return Dim.of(a.value() / b.value());
        }
        DimProduct pa = DimProduct.of(a);
        DimProduct pb = DimProduct.of(b);
        DimProduct exact = pa == null || pb == null ? null : pa.dividedBy(pb);
        if (exact != null) {
            return exact.toDim();
        }
        if (b.isKnown() && b.value() == 1) {
            return a;
        }
        if (a.equals(b) && a.isSymbolic()) {
            return Dim.of(1);
        }
        return Dim.unknown();
    }

    /** @return the product of the dims (the element count), possibly symbolic or unknown */
    static Dim product(List<Dim> dims) {
        Dim p = Dim.of(1);
        for (Dim d : dims) {
            p = mul(p, d);
        }
        return p;
    }

    /**
     * The most specific of two descriptions of the same dim: known beats symbolic beats unknown.
     *
     * @return the merged dim; {@code a} when both are known or symbolic and differ
     */
    static Dim merge(Dim a, Dim b) {
        if (a.isKnown() || b.kind() == Dim.Kind.UNKNOWN) {
            return a;
        }
        if (b.isKnown()) {
            return b;
        }
        return a.isSymbolic() ? a : b;
    }

    /** @return true when the two dims cannot describe the same size */
    static boolean conflict(Dim a, Dim b) {
        return a.isKnown() && b.isKnown() && a.value() != b.value();
    }

    /**
     * Multidirectional (NumPy) broadcasting of two shapes.
     *
     * @throws IllegalArgumentException when two known dims differ and neither is 1
     */
    static Shape broadcast(Shape a, Shape b) {
        int rank = Math.max(a.rank(), b.rank());
        List<Dim> out = new ArrayList<>(rank);
        for (int i = 0; i < rank; i++) {
            int ia = i - (rank - a.rank());
            int ib = i - (rank - b.rank());
            Dim da = ia >= 0 ? a.dim(ia) : Dim.of(1);
            Dim db = ib >= 0 ? b.dim(ib) : Dim.of(1);
            out.add(broadcast(da, db, a, b));
        }
        return Shape.of(out);
    }

    private static Dim broadcast(Dim a, Dim b, Shape sa, Shape sb) {
        if (a.isKnown() && a.value() == 1) {
            return b;
        }
        if (b.isKnown() && b.value() == 1) {
            return a;
        }
        if (a.isKnown() && b.isKnown()) {
            if (a.value() != b.value()) {
                throw new IllegalArgumentException("shapes " + sa + " and " + sb + " do not broadcast");
            }
            return a;
        }
        if (a.isKnown()) {
            return a; // b must be 1 or equal to a
        }
        if (b.isKnown()) {
            return b;
        }
        return a.equals(b) ? a : Dim.unknown();
    }

    /** @return a shape of {@code rank} unknown dims */
    static Shape unknownDims(int rank) {
        List<Dim> out = new ArrayList<>(rank);
        for (int i = 0; i < rank; i++) {
            out.add(Dim.unknown());
        }
        return Shape.of(out);
    }

    /** @return {@code axis} made non-negative for a tensor of rank {@code rank} */
    static int axis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
        }
        return (int) a;
    }
}
