/**
 * Validation: datasets, metrics, latency benchmarks, reports and gates. Baseline and candidate
 * always see the same data through the same runtime settings.
 */
package dev.slimnx.validate;
