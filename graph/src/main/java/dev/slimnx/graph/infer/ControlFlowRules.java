package dev.slimnx.graph.infer;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * If and Loop: their bodies are inferred with the enclosing values' types in view, and the node's
 * outputs get what the bodies agree on (If: both branches; Loop: the initial and the body's
 * loop-carried values). Scan is left unknown.
 */
final class ControlFlowRules {
    private ControlFlowRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        rules.put("If", ControlFlowRules::ifRule);
        rules.put("Loop", ControlFlowRules::loop);
    }

    private static void ifRule(NodeContext ctx) {
        Graph then = ShapeInference.Run.body(ctx.node(), "then_branch");
        Graph other = ShapeInference.Run.body(ctx.node(), "else_branch");
        if (then == null || other == null) {
            return;
        }
        ShapeInference.Run run = ctx.run();
        run.subgraph(then);
        run.subgraph(other);
        for (int i = 0; i < ctx.outputCount() && i < then.outputs().size() && i < other.outputs().size(); i++) {
            ctx.setType(i, unify(run.typeOf(then.outputs().get(i)), run.typeOf(other.outputs().get(i))));
        }
    }

    private static void loop(NodeContext ctx) {
        Node n = ctx.node();
        Graph body = ShapeInference.Run.body(n, "body");
        if (body == null) {
            return;
        }
        ShapeInference.Run run = ctx.run();
        List<Value> in = body.inputs();
        int carried = n.inputs().size() - 2;
        if (in.size() != carried + 2) {
            return;
        }
        run.assume(in.get(0), ValueType.TensorType.of(DataType.INT64, Shape.of()));
        run.assume(in.get(1), ValueType.TensorType.of(DataType.BOOL, Shape.of()));
        for (int i = 0; i < carried; i++) {
            run.assume(in.get(i + 2), ctx.type(i + 2));
        }
        run.subgraph(body);
        List<Value> out = body.outputs();
        for (int i = 0; i < ctx.outputCount() && i + 1 < out.size(); i++) {
            ValueType t = run.typeOf(out.get(i + 1));
            if (i < carried) {
                ctx.setType(i, unify(ctx.type(i + 2), t));
            } else if (t instanceof ValueType.TensorType tt) {
                List<Dim> dims = new ArrayList<>();
                dims.add(Dim.unknown());
                if (tt.shape() != null) {
                    dims.addAll(tt.shape().dims());
                }
                ctx.set(i, tt.elemType(), tt.shape() == null ? null : Shape.of(dims));
            }
        }
    }

    /** @return what two types of the same value agree on: dims that differ become unknown */
    static ValueType unify(ValueType a, ValueType b) {
        if (!(a instanceof ValueType.TensorType ta) || !(b instanceof ValueType.TensorType tb)) {
            return a != null && a.equals(b) ? a : null;
        }
        DataType elem = ta.elemType() == tb.elemType() ? ta.elemType() : DataType.UNDEFINED;
        Shape shape = null;
        if (ta.shape() != null && tb.shape() != null && ta.shape().rank() == tb.shape().rank()) {
            List<Dim> dims = new ArrayList<>();
            for (int k = 0; k < ta.shape().rank(); k++) {
                Dim x = ta.shape().dim(k);
                dims.add(x.equals(tb.shape().dim(k)) ? x : Dim.unknown());
            }
            shape = Shape.of(dims);
        }
        return ValueType.TensorType.of(elem, shape);
    }
}
