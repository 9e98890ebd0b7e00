package dev.slimnx.passes.quant;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rewrites the chosen sites of {@link QuantizeStaticPass} once the activation scales are known:
 * first every site's quantized constants are computed (a site whose int32 bias would overflow is
 * dropped whole), then the graph is edited.
 */
final class StaticRewriter {
    private static final System.Logger LOG = System.getLogger(StaticRewriter.class.getName());

    private final QuantizeStaticPass.Options options;
    private final Map<Value, QuantMath.Affine> activations;

    /**
     * @param options the pass options (weight range, per-channel, activation type)
     * @param activations the scale and zero point of every activation and output of the sites
     */
    StaticRewriter(QuantizeStaticPass.Options options, Map<Value, QuantMath.Affine> activations) {
        this.options = options;
        this.activations = activations;
    }

    /** A site with its quantized constants computed: nothing in the graph has changed yet. */
    private record Plan(StaticSite site, QuantMath.PerChannel weight, int[] bias, float[] biasScales) {
    }

    /**
     * @param model the model, rewritten in place
     * @param sites the sites, in graph order
     * @return counts per kind and the bytes of the constants before and after
     */
    PassResult rewrite(Model model, List<StaticSite> sites) {
        List<Plan> plans = new ArrayList<>();
        for (StaticSite s : sites) {
            Plan p = plan(s);
            if (p != null) {
                plans.add(p);
            }
        }
        RewriteCounter counter = new RewriteCounter(QuantizeStaticPass.ID);
        QdqEditor editor = new QdqEditor(model.graph(), options.activationType());
        List<Value> outputs = new ArrayList<>();
        for (Plan p : plans) {
            rewrite(p, editor);
            counter.count(p.site().kind().label());
            Value out = p.site().output();
            if (out != null) {
                editor.dequantized(out, activations.get(out));
                outputs.add(out);
            }
        }
        // NOTE: after every site read its inputs through a pair, so that an output pair that is
        // also a later site's input pair is made once.
        for (Value v : outputs) {
            editor.routeAllReadersThroughPair(v);
        }
        for (Plan p : plans) {
            GraphEdits.removeIfUnused(p.site().weight());
            GraphEdits.removeIfUnused(p.site().bias());
        }
        Map<String, Integer> counts = new LinkedHashMap<>(counter.result().counts());
        counts.put(QuantizeStaticPass.BYTES_BEFORE, (int) Math.min(Integer.MAX_VALUE, editor.floatBytes()));
        counts.put(QuantizeStaticPass.BYTES_AFTER, (int) Math.min(Integer.MAX_VALUE, editor.quantizedBytes()));
        return PassResult.of(QuantizeStaticPass.ID, counts);
    }

    /** @return the plan, or null when the int32 bias would overflow */
    private Plan plan(StaticSite s) {
        if (s.weight() == null) {
            return new Plan(s, null, null, null);
        }
        float[] w = s.weightData().toFloatArray();
        int qmax = options.reduceRange() ? QuantMath.INT8_REDUCED_MAX : QuantMath.INT8_SYMMETRIC_MAX;
        QuantMath.PerChannel q = options.perChannel()
                ? QuantMath.symmetricPerChannel(w, s.weightData().dims(), s.weightAxis(), qmax)
                : QuantMath.symmetricPerChannel(w, new long[] {1, w.length}, 0, qmax);
        if (s.bias() == null) {
            return new Plan(s, q, null, null);
        }
        float inputScale = activations.get(s.activations().get(0)).scale();
        int perChannel = q.scales().length == 1 ? 0 : 1;
        float[] scales = new float[q.scales().length];
        int[] values = new int[s.biasData().length];
        for (int c = 0; c < values.length; c++) {
            float scale = inputScale * q.scales()[c * perChannel];
            double v = Math.rint(s.biasData()[c] / (double) scale);
            if (Math.abs(v) > Integer.MAX_VALUE) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: bias {1} does not fit int32 at scale {2}; left in float",
                        s.node().describe(), s.biasData()[c], scale);
                return null;
            }
            values[c] = (int) v;
            scales[c * perChannel] = scale;
        }
        return new Plan(s, q, values, scales);
    }

    private void rewrite(Plan p, QdqEditor editor) {
        StaticSite s = p.site();
        Node n = s.node();
        for (Value a : s.activations()) {
            Value dq = editor.dequantized(a, activations.get(a));
            for (int i = 0; i < n.inputs().size(); i++) {
                if (n.input(i) == a) {
                    n.setInput(i, dq);
                }
            }
        }
        if (p.weight() != null) {
            int axis = options.perChannel() ? s.weightAxis() : -1;
            n.setInput(1, editor.dequantizedWeight(s.weight(), s.weightData(), p.weight(), axis, n));
        }
        if (p.bias() != null) {
            n.setInput(2, editor.dequantizedBias(s.bias(), p.bias(), p.biasScales(), n));
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}: quantized", n.describe());
    }
}
