/** Metrics of model outputs: accuracy, agreement, output error, detection mAP. */
package dev.slimnx.validate.metrics;
