/**
 * Quantization passes: static INT8 in QDQ form with calibration
 * ({@link dev.slimnx.passes.quant.QuantizeStaticPass}), dynamic INT8, FP16 and INT4 weight-only,
 * plus the arithmetic they share ({@link dev.slimnx.passes.quant.QuantMath}), the calibration data
 * they read ({@link dev.slimnx.passes.quant.CalibrationData}) and the ranges calibration finds in
 * it ({@link dev.slimnx.passes.quant.Calibration}). A model that is already quantized is recognised
 * by {@link dev.slimnx.passes.quant.QuantizedOps}, so that no pass quantizes twice.
 */
package dev.slimnx.passes.quant;
