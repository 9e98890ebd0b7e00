/**
 * Datasets read in batches, never whole: IDX (the MNIST family), image folders (one subfolder per
 * class), NPY/NPZ tensors and synthetic inputs from a model's signature, all behind
 * {@link dev.slimnx.validate.data.Dataset} and opened from the user's data options by
 * {@link dev.slimnx.validate.data.Datasets#open}. Image sources apply the preprocessing
 * (resize, crop, scale, mean/std, layout) themselves, so a batch is model input as it is.
 */
package dev.slimnx.validate.data;
