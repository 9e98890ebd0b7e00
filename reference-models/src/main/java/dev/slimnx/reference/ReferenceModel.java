package dev.slimnx.reference;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One reference model as the manifest describes it.
 *
 * @param name short name, e.g. {@code vit}
 * @param paper the paper whose mechanism the model reproduces
 * @param file the ONNX file (resolved)
 * @param sha256 expected SHA-256 of the file, hex
 * @param task what the model does and how it is judged (classification, multitask, packed, detection)
 * @param inputs model inputs with their preprocessing
 * @param outputs model outputs and what they mean
 * @param params parameter count of the ONNX file
 * @param macs multiply-accumulates per sample (batch 1)
 * @param metrics the evaluation results: metric name to its figures ({@code onnxruntime}, {@code pytorch})
 * @param labelMaps output name → map from dataset label to that output's label (multi-task heads)
 * @param training the training recipe as recorded by the recipe (free form)
 */
public record ReferenceModel(String name, String paper, Path file, String sha256, Task task, List<InputSpec> inputs,
                             List<OutputSpec> outputs, long params, long macs, Map<String, Metric> metrics,
                             Map<String, int[]> labelMaps, JsonNode training) {

    /** The kinds of task the reference models have. */
    public enum Task { CLASSIFICATION, MULTITASK, PACKED, DETECTION }

    /**
     * @param name input name
     * @param shape dims: numbers, or names for dynamic dims
     * @param dtype element type, e.g. {@code float32}
     * @param layout {@code NCHW} for images, empty otherwise
     * @param preprocessing how raw data becomes the input, or null when the input is not an image
     */
    public record InputSpec(String name, List<Object> shape, String dtype, String layout, Preprocessing preprocessing) {
    }

    /**
     * Image preprocessing: {@code x = (pixel * scale - mean) / std} per channel.
     *
     * @param scale multiplier applied to raw pixel values
     * @param mean per-channel mean subtracted after scaling
     * @param std per-channel standard deviation divided by
     */
    public record Preprocessing(double scale, double[] mean, double[] std) {
    }

    /**
     * @param name output name
     * @param shape dims
     * @param meaning what the values mean
     */
    public record OutputSpec(String name, List<Object> shape, String meaning) {
    }

    /**
     * @param onnxruntime the figure measured through ONNX Runtime by slimnx
     * @param pytorch the figure the training recipe measured in PyTorch
     * @param evalSet what it was measured on
     */
    public record Metric(double onnxruntime, double pytorch, String evalSet) {
    }
}
