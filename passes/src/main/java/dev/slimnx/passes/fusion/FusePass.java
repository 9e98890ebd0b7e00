package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.util.List;

/**
 * Replaces three patterns exporters write out op by op with the single op that computes the same
 * thing, in every graph of the model (subgraphs included), without raising the opset:
 *
 * <ul>
 *   <li>{@code Add(MatMul(A, B), C)} with A and B of rank 2 and C a constant that broadcasts to
 *       {@code [M, N]} → {@code Gemm(A, B, C)} (any opset from 7); 3-D token MatMuls are left
 *       alone;</li>
 *   <li>the decomposed layer norm {@code (x − μ) / √(σ² + ε) · γ + β} over the last axis →
 *       {@code LayerNormalization} (opset 17 and above);</li>
 *   <li>the exact GELU {@code x · 0.5 · (1 + erf(x / √2))} → {@code Gelu} (opset 20 and above; below
 *       it the Erf form stays).</li>
 * </ul>
 *
 * <p>Each rule checks its whole site (constants, shapes, that intermediates are read only inside
 * the pattern and are not graph outputs) before it changes anything, and leaves the site alone
 * otherwise; the conditions are on {@link GemmFusion}, {@link LayerNormFusion} and
 * {@link GeluFusion}. Outputs stay equal to float rounding (the fused kernels sum in another order).
 * Graph-output names survive; constants only the pattern read are removed.
 */
public final class FusePass implements Pass {
    /** The pass id. */
    public static final String ID = "fuse";

    /** How the CLI and recipes find the pass; it takes no options. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "fuse MatMul+Add into Gemm, decomposed LayerNorm into LayerNormalization (opset 17+)"
                    + " and erf GELU into Gelu (opset 20+)",
            true, List.of(), options -> new FusePass());

    private static final System.Logger LOG = System.getLogger(FusePass.class.getName());

    /** Creates the pass. */
    public FusePass() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        Shapes shapes = new Shapes(model);
        List<FusionRule> rules = List.of(new GemmFusion(shapes), new LayerNormFusion(shapes), new GeluFusion(shapes));
        RewriteCounter counter = new RewriteCounter(ID);
        for (Node anchor : model.graph().allNodes()) {
            if (anchor.graph() == null) {
                continue; // removed as part of an earlier site
            }
            for (FusionRule rule : rules) {
                if (counter.countIf(rule.kind(), rule.tryFuse(anchor, model))) {
                    LOG.log(System.Logger.Level.DEBUG, "{0}: {1} at {2}", ID, rule.kind(), anchor.describe());
                    break;
                }
            }
        }
        return counter.result();
    }
}
