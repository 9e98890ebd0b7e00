package dev.slimnx.passes;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.check.GraphChecker;
import dev.slimnx.graph.check.Issue;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Runs passes in order: for each, requires → run → ensures, and optionally the model checker, so a
 * broken rewrite is caught at the pass that made it. With {@code maxRounds > 1} the whole pipeline
 * repeats until a round changes nothing (folding a BatchNorm can expose a constant to fold, which
 * can expose a no-op Reshape...).
 */
public final class PassManager {
    private static final System.Logger LOG = System.getLogger(PassManager.class.getName());

    private final List<Pass> passes;
    private final Options options;

    /**
     * @param maxRounds how often the pipeline may repeat; 1 runs it once
     * @param checkAfterEachPass run the model checker after every pass (tests do; it costs a walk
     *     over the graph)
     */
    public record Options(int maxRounds, boolean checkAfterEachPass) {
        /** @throws IllegalArgumentException if maxRounds is below 1 */
        public Options {
            if (maxRounds < 1) {
                throw new IllegalArgumentException("maxRounds must be at least 1, got " + maxRounds);
            }
        }

        /** @return once through, no checks */
        public static Options once() {
            return new Options(1, false);
        }

        /** @return up to 8 rounds until nothing changes, no checks */
        public static Options untilFixedPoint() {
            return new Options(8, false);
        }

        /** @return these options with the checker after each pass */
        public Options checked() {
            return new Options(maxRounds, true);
        }
    }

    /**
     * One pass run within the pipeline.
     *
     * @param round the round, from 1
     * @param result what the pass did
     * @param nanos how long it took
     */
    public record PassRun(int round, PassResult result, long nanos) {
    }

    /**
     * @param runs every pass run, in order
     * @param rounds rounds run
     */
    public record Outcome(List<PassRun> runs, int rounds) {
        /** @return true when any pass changed the model */
        public boolean changed() {
            return runs.stream().anyMatch(r -> r.result().changed());
        }

        /**
         * @return per pass id (in pipeline order) the summed rewrite counts over all rounds, for a
         *     summary line per pass
         */
        public List<PassResult> perPass() {
            Map<String, Map<String, Integer>> byPass = new LinkedHashMap<>();
            for (PassRun r : runs) {
                Map<String, Integer> counts = byPass.computeIfAbsent(r.result().passId(),
                        k -> new LinkedHashMap<>());
                r.result().counts().forEach((k, v) -> counts.merge(k, v, Integer::sum));
            }
            List<PassResult> out = new ArrayList<>();
            byPass.forEach((id, counts) -> out.add(PassResult.of(id, counts)));
            return out;
        }
    }

    /**
     * @param passes the pipeline, in order
     * @param options rounds and checks
     */
    public PassManager(List<Pass> passes, Options options) {
        this.passes = List.copyOf(passes);
        this.options = options;
    }

    /**
     * Runs the pipeline on the model in place. Every pass's {@code requires} is asked before the
     * first pass runs, so a refusal leaves the model untouched.
     *
     * @param model the model, changed in place
     * @param context what passes may use
     * @return what each pass did
     * @throws PassRefusedException when a pass declines the model (nothing has changed then)
     * @throws PassFailedException when a pass throws, breaks its promise or leaves an invalid model
     */
    public Outcome run(Model model, PassContext context) {
        for (Pass p : passes) {
            p.requires(model);
        }
        List<PassRun> runs = new ArrayList<>();
        List<String> ran = new ArrayList<>();
        int round = 0;
        boolean changed = true;
        while (changed && round < options.maxRounds()) {
            round++;
            changed = false;
            for (Pass p : passes) {
                long t0 = System.nanoTime();
                PassResult result = runOne(p, model, context, ran);
                runs.add(new PassRun(round, result, System.nanoTime() - t0));
                ran.add(p.id());
                changed |= result.changed();
                LOG.log(System.Logger.Level.INFO, "{0} (round {1}): {2}", p.id(), round, result.summary());
            }
        }
        return new Outcome(runs, round);
    }

    private PassResult runOne(Pass p, Model model, PassContext context, List<String> ran) {
        PassResult result;
        try {
            p.requires(model);
            result = p.run(model, context);
            p.ensures(model);
        } catch (PassRefusedException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            throw new PassFailedException(p.id(), ran, String.valueOf(e.getMessage()), e);
        }
        if (options.checkAfterEachPass()) {
            List<Issue> errors = GraphChecker.check(model).stream().filter(Issue::isError).toList();
            if (!errors.isEmpty()) {
                throw new PassFailedException(p.id(), ran, "left an invalid model: "
                        + errors.stream().limit(3).map(Issue::toString).collect(Collectors.joining("; ")), null);
            }
        }
        return result;
    }
}
