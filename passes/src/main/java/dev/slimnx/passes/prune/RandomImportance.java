package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.passes.PassContext;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random importance: uniform scores from a seeded generator, one stream per group (named by its
 * seed member) so that adding a group does not change another's draw. The baseline that shows a
 * criterion helps at all.
 */
public final class RandomImportance implements Importance {
    private final long seed;

    /** @param seed the seed every group's stream derives from */
    public RandomImportance(long seed) {
        this.seed = seed;
    }

    @Override
    public String name() {
        return "random";
    }

    @Override
    public List<double[]> scores(Model model, List<ChannelGroup> groups, PassContext context) {
        List<double[]> out = new ArrayList<>();
        for (ChannelGroup g : groups) {
            SplittableRandom r = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * g.seed().toString().hashCode()));
            double[] s = new double[g.width()];
            for (int c = 0; c < s.length; c++) {
                s[c] = r.nextDouble();
            }
            out.add(s);
        }
        return out;
    }
}
