/**
 * Gates: conditions on report fields ({@code top1_drop <= 0.5}, {@code p50_speedup >= 1.3}) that
 * turn a validation report into a pass or a fail, and so into an exit code for CI.
 */
package dev.slimnx.validate.gate;
