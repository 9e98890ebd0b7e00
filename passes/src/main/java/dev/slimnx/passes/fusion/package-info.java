/**
 * Lossless fusions: rewrites that merge an operator into its neighbours' constants (BatchNorm
 * folding) or several operators into one, keeping the outputs equal within the lossless tolerance.
 * One pass per file; each pass's Javadoc gives the math it relies on and the cases it skips.
 */
package dev.slimnx.passes.fusion;
