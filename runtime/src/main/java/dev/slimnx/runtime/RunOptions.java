package dev.slimnx.runtime;

import java.util.Objects;

/**
 * How a model runs: where, on how many threads, with which graph optimizations, and whether ONNX
 * Runtime keeps its CPU memory arena.
 *
 * @param provider the execution provider
 * @param intraOpThreads threads ONNX Runtime uses inside one operator; 0 lets ONNX Runtime choose
 *     (one per physical core)
 * @param optimizationLevel ONNX Runtime's graph optimization level
 * @param memoryArena ONNX Runtime's CPU arena and memory-pattern planning (the default). The arena
 *     keeps every block it ever grew to for reuse, which makes repeated runs fast; a session whose
 *     runs each need gigabytes (a gradient model of a large model) peaks lower without it, at no
 *     measured cost in time (docs/BENCHMARKS.md, Taylor on a ViT-B)
 */
public record RunOptions(ExecutionProvider provider, int intraOpThreads, OptimizationLevel optimizationLevel,
                         boolean memoryArena) {

    /**
     * @throws NullPointerException if provider or optimizationLevel is null
     * @throws IllegalArgumentException if intraOpThreads is negative
     */
    public RunOptions {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(optimizationLevel, "optimizationLevel");
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads must be 0 (ONNX Runtime's default) or more, got "
                    + intraOpThreads);
        }
    }

    /** Options with the memory arena on. */
    public RunOptions(ExecutionProvider provider, int intraOpThreads, OptimizationLevel optimizationLevel) {
        this(provider, intraOpThreads, optimizationLevel, true);
    }

    /** @return CPU, ONNX Runtime's default thread count, all optimizations: what a deployment would use */
    public static RunOptions defaults() {
        return new RunOptions(ExecutionProvider.CPU, 0, OptimizationLevel.ALL);
    }

    /**
     * @return CPU, one thread, no graph optimizations: the model runs as written and runs repeat
     *     exactly, which is what tests need to compare two models
     */
    public static RunOptions reference() {
        return new RunOptions(ExecutionProvider.CPU, 1, OptimizationLevel.DISABLED);
    }

    /**
     * @param newProvider the execution provider
     * @return these options on another provider
     */
    public RunOptions withProvider(ExecutionProvider newProvider) {
        return new RunOptions(newProvider, intraOpThreads, optimizationLevel, memoryArena);
    }

    /**
     * @param threads intra-op threads, 0 for ONNX Runtime's default
     * @return these options with another thread count
     * @throws IllegalArgumentException if threads is negative
     */
    public RunOptions withIntraOpThreads(int threads) {
        return new RunOptions(provider, threads, optimizationLevel, memoryArena);
    }

    /**
     * @param level the optimization level
     * @return these options with another optimization level
     */
    public RunOptions withOptimizationLevel(OptimizationLevel level) {
        return new RunOptions(provider, intraOpThreads, level, memoryArena);
    }

    /**
     * @param arena whether ONNX Runtime keeps its CPU memory arena
     * @return these options with the arena on or off
     */
    public RunOptions withMemoryArena(boolean arena) {
        return new RunOptions(provider, intraOpThreads, optimizationLevel, arena);
    }
}
