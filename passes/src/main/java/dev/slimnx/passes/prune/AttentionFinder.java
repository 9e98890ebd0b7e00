package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the attention products {@code softmax(Q·Kᵀ)} of a model by their structure: a MatMul of two
 * activations (neither is a constant) whose output reaches a Softmax over its last axis through at
 * most a few single-reader element-wise steps (a scale Mul or Div, a mask Add or Sub). Q is input
 * 0, its per-head dims on its last axis; the head axis, when the product has one, is the axis
 * before the last two (rank 4: {@code [B, H, T, d]}).
 *
 * <p>Separable attention (MobileViTv2) has no such product: its context scores come from a
 * {@code d → 1} projection, so the finder returns nothing for it.
 */
public final class AttentionFinder {
    private static final int LOOK_THROUGH = 3;

    private AttentionFinder() {
    }

    /**
     * @param model the model
     * @return its attention products in graph order
     */
    public static List<AttentionLayer> find(Model model) {
        InferenceResult shapes = ShapeInference.infer(model);
        List<AttentionLayer> out = new ArrayList<>();
        for (Node n : model.graph().nodes()) {
            if (!n.is("MatMul") || n.inputs().size() != 2 || GraphEdits.constant(n.input(0)) != null
                    || GraphEdits.constant(n.input(1)) != null || !reachesSoftmax(n.output(0), shapes)) {
                continue;
            }
            Shape q = shapes.shapeOf(n.input(0));
            if (q == null || q.rank() < 2 || !q.dim(q.rank() - 1).isKnown()) {
                continue;
            }
            int headAxis = q.rank() >= 4 ? q.rank() - 3 : -1;
            int heads = headAxis >= 0 && q.dim(headAxis).isKnown() ? (int) q.dim(headAxis).value() : 1;
            out.add(new AttentionLayer(n.name().isEmpty() ? "MatMul reading '" + n.input(0).name() + "'" : n.name(), n,
                    heads, headAxis, (int) q.dim(q.rank() - 1).value()));
        }
        return out;
    }

    private static boolean reachesSoftmax(Value v, InferenceResult shapes) {
        Value at = v;
        for (int step = 0; step <= LOOK_THROUGH; step++) {
            if (at.uses().size() != 1 || at.isGraphOutput()) {
                return false;
            }
            Use u = at.uses().get(0);
            Node next = u.node();
            if (next.is("Softmax")) {
                Shape s = shapes.shapeOf(at);
                long axis = next.intAttr("axis", -1);
                return s != null && (axis == -1 || axis == s.rank() - 1);
            }
            if (!(next.is("Mul") || next.is("Div") || next.is("Add") || next.is("Sub")) || u.inputIndex() != 0
                    && (next.is("Div") || next.is("Sub"))) {
                return false;
            }
            at = next.output(0);
        }
        return false;
    }
}
