/**
 * The {@code slimnx} command line (picocli). Commands implement {@code Callable<Integer>}, print
 * through the command line's writers so tests capture them, and throw; {@code ErrorHandler} maps
 * exceptions to one line and an exit code (0 done, 1 gate failed, 2 bad input, 3 internal error).
 */
package dev.slimnx.cli;
