/**
 * Quantization passes: static INT8 in QDQ form with calibration, dynamic INT8, FP16 and INT4
 * weight-only, plus the arithmetic they share ({@link dev.slimnx.passes.quant.QuantMath}) and the
 * calibration data they read ({@link dev.slimnx.passes.quant.CalibrationData}).
 */
package dev.slimnx.passes.quant;
