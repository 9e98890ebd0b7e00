package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.IntVector;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;

/**
 * A Reshape whose target is computed from shapes at run time (PyTorch's {@code x.view(B, N, h, -1)}
 * exports as Shape → Gather → Unsqueeze → Concat) gets a constant target instead, so the chain
 * that computed it becomes dead code.
 *
 * <p>Why it is exact: with {@code allowzero = 0}, a target entry 0 copies the input's dim at the
 * same index. Where inference proves entry {@code i} equals the input's dim {@code i} (the same
 * symbol, e.g. {@code batch}), 0 yields the same number on every run. Known entries are kept as
 * they are. One remaining symbolic entry becomes -1, which Reshape solves to the only value that
 * keeps the element count, i.e. the one the chain computed; this is done only when no entry is 0
 * (a 0-sized dim would make -1 ambiguous) and no entry was copied with 0.
 *
 * <p>Not rewritten: targets already constant, {@code allowzero = 1}, targets inference cannot
 * describe entry by entry, and more than one symbolic entry that is not a copy.
 */
final class StaticReshapeTarget {
    private StaticReshapeTarget() {
    }

    /**
     * @param reshape any node
     * @param shapes inference over the model the node is in
     * @return true when the node's target was replaced by a constant
     */
    static boolean tryMakeStatic(Node reshape, InferenceResult shapes) {
        if (!reshape.is("Reshape") || reshape.inputs().size() < 2 || reshape.intAttr("allowzero", 0) != 0) {
            return false;
        }
        Value target = reshape.input(1);
        Value data = reshape.input(0);
        if (target == null || data == null || GraphEdits.constant(target) != null) {
            return false;
        }
        IntVector entries = shapes.intsOf(target);
        Shape in = shapes.shapeOf(data);
        if (entries == null || entries.scalar() || in == null) {
            return false;
        }
        long[] fixed = new long[entries.size()];
        int solved = -1;
        boolean copied = false;
        boolean zeroOrMinusOne = false;
        for (int i = 0; i < fixed.length; i++) {
            Dim d = entries.get(i);
            if (d.isKnown()) {
                fixed[i] = d.value();
                zeroOrMinusOne |= d.value() <= 0;
            } else if (d.isSymbolic() && i < in.rank() && d.equals(in.dim(i))) {
                fixed[i] = 0;
                copied = true;
            } else if (d.isSymbolic() && solved < 0) {
                solved = i;
                fixed[i] = -1;
            } else {
                return false;
            }
        }
        if (solved >= 0 && (copied || zeroOrMinusOne)) {
            return false;
        }
        Tensor constant = Tensor.ofLongs("", new long[] {fixed.length}, fixed);
        reshape.setInput(1, GraphEdits.addConstant(reshape.graph(), target.name() + "_static", constant));
        return true;
    }
}
