package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The gradient contributions each forward value receives from the nodes that read it, and their
 * sum.
 *
 * <p>A contribution is either the whole gradient, of the value's shape, or a slab: the gradient
 * on {@code [start, end)} along one axis, zero elsewhere. Gather with a constant index, a Slice
 * along one axis and Split give slabs, so that the slabs of one value (the q, k and v of a fused
 * qkv projection, the halves a Split or two Slices cut) are put together as one {@code Concat},
 * zeros written only where no slab lies, instead of each being padded to the full shape and the
 * full-size tensors summed. Slabs that overlap, or lie along different axes, are padded one by one.
 */
final class GradientContributions {
    /**
     * @param grad the gradient, of the value's shape, or of the slab's
     * @param axis the slab's axis, or -1 for a whole gradient
     * @param start first index of the slab along the axis
     * @param end one past its last index
     */
    private record Part(Value grad, int axis, long start, long end) {
        boolean whole() {
            return axis < 0;
        }
    }

    private final GraphEmitter emit;
    private final ForwardInfo info;
    private final Map<Value, List<Part>> byValue = new IdentityHashMap<>();

    GradientContributions(GraphEmitter emit, ForwardInfo info) {
        this.emit = emit;
        this.info = info;
    }

    /**
     * @param target a forward value
     * @param grad a gradient contribution of the target's shape
     */
    void add(Value target, Value grad) {
        list(target).add(new Part(Objects.requireNonNull(grad, () -> "null gradient for '" + target.name() + "'"),
                -1, 0, 0));
    }

    /**
     * @param target a forward value whose dim along {@code axis} is known
     * @param axis an axis of the target
     * @param start first index along the axis the contribution covers
     * @param end one past the last; the contribution is zero outside {@code [start, end)}
     * @param grad the contribution on the slab: the target's shape, {@code end - start} along the axis
     */
    void addSlab(Value target, int axis, long start, long end, Value grad) {
        Objects.requireNonNull(grad, () -> "null gradient for '" + target.name() + "'");
        if (start >= end) {
            return; // an empty slab contributes nothing
        }
        list(target).add(new Part(grad, axis, start, end));
    }

    private List<Part> list(Value target) {
        return byValue.computeIfAbsent(target, k -> new ArrayList<>());
    }

    /**
     * Emits the sum of the target's contributions (once: later calls return the same value).
     *
     * @param target a forward value
     * @return its gradient, or null when nothing contributed
     */
    Value sum(Value target) {
        List<Part> list = byValue.get(target);
        if (list == null || list.isEmpty()) {
            return null;
        }
        if (list.size() == 1 && list.get(0).whole()) {
            return list.get(0).grad();
        }
        List<Value> terms = new ArrayList<>();
        List<Part> slabs = new ArrayList<>();
        for (Part p : list) {
            if (p.whole()) {
                terms.add(p.grad());
            } else {
                slabs.add(p);
            }
        }
        if (!slabs.isEmpty()) {
            slabs.sort(Comparator.comparingLong(Part::start));
            if (disjointAlongOneAxis(slabs)) {
                terms.add(assemble(target, slabs));
            } else {
                for (Part p : slabs) {
                    terms.add(assemble(target, List.of(p)));
                }
            }
        }
        Value sum = terms.size() == 1 ? terms.get(0) : emit.op("Sum", terms);
        list.clear();
        list.add(new Part(sum, -1, 0, 0));
        return sum;
    }

    private static boolean disjointAlongOneAxis(List<Part> sorted) {
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).axis() != sorted.get(0).axis() || sorted.get(i).start() < sorted.get(i - 1).end()) {
                return false;
            }
        }
        return true;
    }

    /**
     * Slabs sorted and disjoint along one axis, as a gradient of the target's shape: one Concat,
     * zeros between slabs (ConstantOfShape) and a Pad for those before the first and after the last.
     */
    private Value assemble(Value target, List<Part> slabs) {
        int axis = slabs.get(0).axis();
        Shape shape = info.shape(target);
        long size = shape.dim(axis).value();
        List<Value> pieces = new ArrayList<>();
        long at = slabs.get(0).start();
        for (Part p : slabs) {
            if (p.start() > at) {
                pieces.add(emit.zeros(gapShape(p.grad(), shape, axis, p.start() - at), info.elemType(target)));
            }
            pieces.add(p.grad());
            at = p.end();
        }
        Value joined = pieces.size() == 1 ? pieces.get(0) : emit.op("Concat", pieces, Attribute.ofInt("axis", axis));
        long before = slabs.get(0).start();
        long after = size - at;
        if (before == 0 && after == 0) {
            return joined;
        }
        long[] pads = new long[2 * shape.rank()];
        pads[axis] = before;
        pads[axis + shape.rank()] = after;
        return emit.op("Pad", joined, emit.longs(pads));
    }

    /** The shape of zeros filling a gap: the slab's with {@code length} along the axis. */
    private Value gapShape(Value slab, Shape target, int axis, long length) {
        if (target.isStatic()) {
            long[] dims = target.sizes();
            dims[axis] = length;
            return emit.longs(dims);
        }
        int rank = target.rank();
        List<Value> parts = new ArrayList<>();
        Value shape = emit.op("Shape", slab);
        if (axis > 0) {
            parts.add(emit.op("Slice", shape, emit.longs(0), emit.longs(axis)));
        }
        parts.add(emit.longs(length));
        if (axis < rank - 1) {
            parts.add(emit.op("Slice", shape, emit.longs(axis + 1L), emit.longs(rank)));
        }
        return emit.op("Concat", parts, Attribute.ofInt("axis", 0));
    }

    /**
     * @param target a forward value
     * @param axis an axis
     * @return true when slabs along that axis can be contributed: its size there is known
     */
    boolean slabsAllowed(Value target, int axis) {
        Shape s = info.shape(target);
        Dim d = s == null ? null : s.dim(axis);
        return d != null && d.isKnown();
    }
}
