package dev.slimnx.passes;

import dev.slimnx.graph.Model;

/**
 * One rewrite of a model, named by an id such as {@code fold-batchnorm}.
 *
 * <p>The contract (see DESIGN.md): {@link #requires} refuses models the pass cannot handle before
 * anything changes; {@link #run} rewrites the model in place and reports {@code changed} only when
 * the graph really differs, so a second run reports no change; {@link #ensures} checks what the pass
 * promises afterwards. Options live in an immutable record passed to the constructor.
 */
public interface Pass {

    /** @return the id the CLI and recipes use, lower-case words joined by hyphens */
    String id();

    /**
     * Checks that the pass can run on this model; nothing has changed when it throws.
     *
     * @param model the model about to be rewritten
     * @throws PassRefusedException when the model is outside what the pass supports
     */
    default void requires(Model model) {
    }

    /**
     * Rewrites the model in place.
     *
     * @param model the model, changed in place
     * @param context seeded randomness, a runtime for passes that run the model, progress
     * @return what the pass did
     */
    PassResult run(Model model, PassContext context);

    /**
     * Checks the promise of the pass after {@link #run}; the default promises nothing more than
     * the checker's.
     *
     * @param model the rewritten model
     * @throws IllegalStateException when the promise is broken (a bug in the pass)
     */
    default void ensures(Model model) {
    }
}
