/**
 * Lossless cleanup passes: they change how a model is written down, never what it computes
 * ({@code fold-constants} evaluates what is already fixed, {@code eliminate} removes operators that
 * change nothing, {@code dead-code} removes what nothing reads). Other passes leave constants, dead
 * values and duplicates behind and rely on these to tidy up.
 */
package dev.slimnx.passes.cleanup;
