package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The outputs of {@code Shape}, {@code Size}, and {@code Gather}/{@code Slice} of a Shape, computed
 * from inferred shapes where every dim they return is a known number; a symbolic dim (the batch)
 * is never turned into a number. Part of {@link FoldConstantsPass}.
 */
final class ShapeDerivedValues {
    private final InferenceResult inference;
    private final long opset;
    private final Map<Node, Tensor> cache = new IdentityHashMap<>();

    /**
     * @param inference shapes of the model
     * @param opset the model's default-domain opset (Shape's start/end exist from 15)
     */
    ShapeDerivedValues(InferenceResult inference, long opset) {
        this.inference = inference;
        this.opset = opset;
    }

    /** @return the output of a Shape, Size, or Gather/Slice of a Shape when inference fixes it; else null */
    Tensor fromShape(Node n) {
        if (cache.containsKey(n)) {
            return cache.get(n);
        }
        Tensor t = null;
        if (n.isOnnxDomain() && n.outputs().size() == 1 && !n.output(0).name().isEmpty()) {
            String name = n.output(0).name();
            t = switch (n.opType()) {
                case "Shape" -> shapeValue(n, name);
                case "Size" -> sizeValue(n, name);
                case "Gather" -> gatherOfShape(n, name);
                case "Slice" -> sliceOfShape(n, name);
                default -> null;
            };
        }
        cache.put(n, t);
        return t;
    }

    /** @return the dims a Shape node returns (its start and end applied), or null when the rank is unknown */
    private List<Dim> shapeDims(Node shape) {
        Value x = shape.input(0);
        Shape s = x == null ? null : inference.shapeOf(x);
        if (s == null) {
            return null;
        }
        int r = s.rank();
        long start = opset >= 15 ? shape.intAttr("start", 0) : 0;
        long end = opset >= 15 ? shape.intAttr("end", r) : r;
        start = Math.clamp(start < 0 ? start + r : start, 0, r);
        end = Math.clamp(end < 0 ? end + r : end, 0, r);
        return start < end ? s.dims().subList((int) start, (int) end) : List.of();
    }

    private Tensor shapeValue(Node n, String name) {
        List<Dim> dims = shapeDims(n);
        long[] sizes = dims == null ? null : knownSizes(dims);
        return sizes == null ? null : Tensor.ofLongs(name, new long[] {sizes.length}, sizes);
    }

    private Tensor sizeValue(Node n, String name) {
        Shape s = n.input(0) == null ? null : inference.shapeOf(n.input(0));
        long[] sizes = s == null ? null : knownSizes(s.dims());
        if (sizes == null) {
            return null;
        }
        try {
            return Tensor.ofLongs(name, new long[0], Tensor.elementCount(sizes));
        } catch (ArithmeticException e) {
            return null;
        }
    }

    /** The dims behind the output of a Shape node, or null when {@code data} is not one. */
    private List<Dim> dimsOfShape(Value data) {
        Node p = data == null ? null : data.producer();
        return p != null && p.is("Shape") ? shapeDims(p) : null;
    }

    /** {@code Gather(Shape(x), indices)} on axis 0 with constant indices that all pick known dims. */
    private Tensor gatherOfShape(Node n, String name) {
        List<Dim> dims = dimsOfShape(n.input(0));
        Tensor indices = n.input(1) == null ? null : n.input(1).constant();
        long axis = n.intAttr("axis", 0);
        if (dims == null || indices == null || (axis != 0 && axis != -1)
                || (indices.dataType() != DataType.INT64 && indices.dataType() != DataType.INT32)) {
            return null;
        }
        long[] picked = indices.toLongArray();
        long[] out = new long[picked.length];
        for (int i = 0; i < picked.length; i++) {
            long k = picked[i] < 0 ? picked[i] + dims.size() : picked[i];
            if (k < 0 || k >= dims.size()) {
                return null;
            }
            long[] size = knownSizes(List.of(dims.get((int) k)));
            if (size == null) {
                return null;
            }
            out[i] = size[0];
        }
        return Tensor.ofLongs(name, indices.dims(), out);
    }

    /** {@code Slice(Shape(x), starts, ends[, axes[, steps]])} with constant bounds picking only known dims. */
    private Tensor sliceOfShape(Node n, String name) {
        List<Dim> dims = dimsOfShape(n.input(0));
        if (dims == null || n.inputs().size() < 3) {
            return null;
        }
        Long start = scalarConstant(n.input(1));
        Long end = scalarConstant(n.input(2));
        Long axis = n.input(3) == null ? Long.valueOf(0) : scalarConstant(n.input(3));
        Long step = n.input(4) == null ? Long.valueOf(1) : scalarConstant(n.input(4));
        if (start == null || end == null || axis == null || step == null || (axis != 0 && axis != -1) || step == 0) {
            return null;
        }
        // The ONNX Slice rules for one axis of length len.
        long len = dims.size();
        if (len == 0) {
            return null;
        }
        long s = start < 0 ? start + len : start;
        long e = end < 0 ? end + len : end;
        List<Dim> picked = new ArrayList<>();
        if (step > 0) {
            s = Math.clamp(s, 0, len);
            e = Math.clamp(e, 0, len);
            for (long i = s; i < e; i += step) {
                picked.add(dims.get((int) i));
            }
        } else {
            s = Math.clamp(s, 0, len - 1);
            e = Math.clamp(e, -1, len - 1);
            for (long i = s; i > e; i += step) {
                picked.add(dims.get((int) i));
            }
        }
        long[] sizes = knownSizes(picked);
        return sizes == null || sizes.length == 0 ? null : Tensor.ofLongs(name, new long[] {sizes.length}, sizes);
    }

    /** @return the single value of a one-element integer initializer, or null */
    private static Long scalarConstant(Value v) {
        Tensor t = v == null ? null : v.constant();
        if (t == null || t.numElements() != 1 || (t.dataType() != DataType.INT64 && t.dataType() != DataType.INT32)) {
            return null;
        }
        return t.toLongArray()[0];
    }

    /** @return the sizes when every dim is a known, non-negative number; else null */
    static long[] knownSizes(List<Dim> dims) {
        long[] out = new long[dims.size()];
        for (int i = 0; i < out.length; i++) {
            Dim d = dims.get(i);
            if (!d.isKnown() || d.value() < 0) {
                return null;
            }
            out[i] = d.value();
        }
        return out;
    }
}
