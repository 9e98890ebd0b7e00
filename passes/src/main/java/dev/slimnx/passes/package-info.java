/**
 * The pass framework: a {@link dev.slimnx.passes.Pass} rewrites a model in place and says what it
 * did in a {@link dev.slimnx.passes.PassResult}; a {@link dev.slimnx.passes.PassManager} runs a
 * pipeline of them; a {@link dev.slimnx.passes.PassRegistry} names them for the CLI and recipes.
 * The passes themselves live in the sub-packages ({@code cleanup}, {@code fusion}, ...), one per file.
 */
package dev.slimnx.passes;
