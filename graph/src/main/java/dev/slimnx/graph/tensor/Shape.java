package dev.slimnx.graph.tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** An immutable tensor shape: a list of {@link Dim}s. A scalar has rank 0. */
public final class Shape {
    private final List<Dim> dims;
    private final OpaqueFields extra;

    private Shape(List<Dim> dims, OpaqueFields extra) {
        this.dims = List.copyOf(dims);
        this.extra = extra;
    }

    private Shape(List<Dim> dims) {
        this(dims, OpaqueFields.NONE);
    }

    /**
     * @param fields uninterpreted fields of the file's {@code TensorShapeProto}
     * @return this shape carrying them (they take no part in equality)
     */
    public Shape withExtra(OpaqueFields fields) {
        return new Shape(dims, fields);
    }

    /** @return uninterpreted fields of the {@code TensorShapeProto} */
    public OpaqueFields extra() {
        return extra;
    }

    /**
     * @param dims the dims, outermost first
     * @return the shape
     */
    public static Shape of(List<Dim> dims) {
        return new Shape(dims);
    }

    /**
     * @param sizes known sizes
     * @return a static shape
     */
    public static Shape of(long... sizes) {
        List<Dim> list = new ArrayList<>(sizes.length);
        for (long s : sizes) {
            list.add(Dim.of(s));
        }
        return new Shape(list);
    }

    /** @return the number of dims */
    public int rank() {
        return dims.size();
    }

    /**
     * @param axis index; negative counts from the end
     * @return the dim at that axis
     */
    public Dim dim(int axis) {
        return dims.get(axis < 0 ? axis + dims.size() : axis);
    }

    /** @return the dims, unmodifiable */
    public List<Dim> dims() {
        return dims;
    }

    /** @return true if every dim is a known number */
    public boolean isStatic() {
        for (Dim d : dims) {
            if (!d.isKnown()) {
                return false;
            }
        }
        return true;
    }

    /**
     * @return the product of the dims
     * @throws IllegalStateException if the shape is not static
     * @throws ArithmeticException on overflow
     */
    public long numElements() {
        long n = 1;
        for (Dim d : dims) {
            n = Math.multiplyExact(n, d.value());
        }
        return n;
    }

    /**
     * @return the known sizes
     * @throws IllegalStateException if the shape is not static
     */
    public long[] sizes() {
        long[] out = new long[dims.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = dims.get(i).value();
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && s.dims.equals(dims);
    }

    @Override
    public int hashCode() {
        return dims.hashCode();
    }

    @Override
    public String toString() {
        return Arrays.toString(dims.toArray());
    }
}
