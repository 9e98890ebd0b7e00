/**
 * Datasets read in batches, never whole: IDX (the MNIST family), and more to come. A dataset yields
 * raw samples; preprocessing (scale, mean/std, layout) is applied by the caller.
 */
package dev.slimnx.validate.data;
