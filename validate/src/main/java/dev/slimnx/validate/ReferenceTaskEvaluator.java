package dev.slimnx.validate;

import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.validate.data.DetectionCanvases;
import dev.slimnx.graph.Model;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.data.IdxSource;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import dev.slimnx.validate.metrics.Classification;
import dev.slimnx.validate.metrics.MeanAveragePrecision;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evaluations of the reference models' tasks beyond plain classification: several heads with
 * their own labellings (Memory ViT), packed variable-resolution sequences (NaViT) and detection
 * canvases (DETR). Each rebuilds exactly the evaluation data the training recipe used.
 */
public final class ReferenceTaskEvaluator {
    private ReferenceTaskEvaluator() {
    }

    /**
     * Evaluates a reference model's task through ONNX Runtime on the committed test data.
     *
     * @param task {@code classification}, {@code multitask}, {@code packed} or {@code detection}
     * @param model the model, whose input signature shapes the data
     * @param runner the model's runner
     * @param data the committed Fashion-MNIST test data and the model's preprocessing
     * @param labelMaps for multitask: output name → label map (null entry = the dataset's labels)
     * @return metric name → value: {@code top1}; or {@code top1_task_a}/{@code top1_task_b}; or
     *     {@code map50}/{@code map50_95}
     * @throws IOException on data errors
     */
    public static Map<String, Double> evaluate(String task, Model model, ModelRunner runner, DataSpec data,
                                               Map<String, int[]> labelMaps) throws IOException {
        return switch (task) {
            case "classification" -> {
                try (Dataset ds = Datasets.open(data, model, "test")) {
                    yield Map.of("top1", ClassificationEvaluator.top1(runner, runner.outputs().get(0).name(), ds, 250));
                }
            }
            case "multitask" -> {
                try (Dataset ds = Datasets.open(data, model, "test")) {
                    Map<String, Double> top1 = multiTaskTop1(runner, ds, labelMaps, 250);
                    Map<String, Double> out = new LinkedHashMap<>();
                    int k = 0;
                    for (var e : top1.entrySet()) {
                        out.put("top1_task_" + (char) ('a' + k++), e.getValue());
                    }
                    yield out;
                }
            }
            case "packed" -> Map.of("top1", packedTop1(runner, images(data), data.preprocessing()));
            case "detection" -> detectionMap(runner, images(data), data.preprocessing(), 10);
            default -> throw new IllegalArgumentException("unknown reference task '" + task + "'");
        };
    }

    /** The raw test images the packed and detection sets are built from. */
    private static LabelledImages images(DataSpec data) throws IOException {
        IdxSource idx = IdxSource.locate(data.source(), data.split(), "test");
        return LabelledImages.read(idx.images(), idx.labels());
    }

    /**
     * @param logits [batch, queries, classes + 1]
     * @param boxes [batch, queries, 4]
     * @param truth the canvases of the batch, in order
     * @return one mAP input per canvas
     */
    static List<MeanAveragePrecision.Image> detections(Tensor logits, Tensor boxes, List<DetectionCanvases.Canvas> truth) {
        long[] ld = logits.dims();
        float[] l = logits.toFloatArray();
        float[] b = boxes.toFloatArray();
        int q = (int) ld[1];
        int c = (int) ld[2];
        List<MeanAveragePrecision.Image> out = new ArrayList<>();
        for (int i = 0; i < truth.size(); i++) {
            float[][] li = new float[q][c];
            float[][] bi = new float[q][4];
            for (int j = 0; j < q; j++) {
                System.arraycopy(l, (i * q + j) * c, li[j], 0, c);
                System.arraycopy(b, (i * q + j) * 4, bi[j], 0, 4);
            }
            out.add(new MeanAveragePrecision.Image(li, bi, truth.get(i).boxes(), truth.get(i).classes()));
        }
        return out;
    }

    /**
     * Top-1 of every classification head, each against its own labelling of the same images.
     *
     * @param runner the model
     * @param data the images (consumed)
     * @param labelMaps output name → map from dataset label to that head's label (null for identity)
     * @param batchSize items per run
     * @return output name → top-1
     * @throws IOException on data errors
     */
    public static Map<String, Double> multiTaskTop1(ModelRunner runner, Dataset data,
                                                    Map<String, int[]> labelMaps, int batchSize) throws IOException {
        Map<String, long[]> correct = new LinkedHashMap<>();
        labelMaps.keySet().forEach(k -> correct.put(k, new long[1]));
        long total = 0;
        for (Batch b; (b = data.next(batchSize)) != null; ) {
            Map<String, Tensor> out = runner.run(b.inputs(), labelMaps.keySet());
            for (var e : labelMaps.entrySet()) {
                int[] pred = Classification.argmax(out.get(e.getKey()).toFloatArray(), b.size());
                for (int i = 0; i < pred.length; i++) {
                    int want = e.getValue() == null ? b.labels()[i] : e.getValue()[b.labels()[i]];
                    correct.get(e.getKey())[0] += pred[i] == want ? 1 : 0;
                }
            }
            total += b.size();
        }
        Map<String, Double> result = new LinkedHashMap<>();
        for (var e : correct.entrySet()) {
            result.put(e.getKey(), (double) e.getValue()[0] / total);
        }
        return result;
    }

    /**
     * NaViT: top-1 over the mixed-resolution stream, each pack run as one unpadded sequence; the
     * model's inputs are (patches, pos_y, pos_x, image_ids) in that order and its output holds one
     * row of logits per image slot.
     *
     * @param runner the model
     * @param images the test images
     * @param preprocessing pixel preprocessing
     * @return top-1 in [0, 1]
     */
    public static double packedTop1(ModelRunner runner, LabelledImages images, ImagePreprocessing preprocessing) {
        float[][] pixels = images.preprocessed(preprocessing);
        int[] sizes = NavitStream.sizes(images.size(), NavitStream.EVAL_SEED);
        List<String> names = runner.inputs().stream().map(io -> io.name()).toList();
        String output = runner.outputs().get(0).name();
        long correct = 0;
        for (int[] members : NavitStream.pack(sizes)) {
            Map<String, Tensor> feeds = NavitStream.build(pixels, sizes, members, 0).feeds(names);
            Tensor logits = runner.run(feeds, List.of(output)).get(output);
            int slots = (int) logits.dims()[0];
            int[] pred = Classification.argmax(logits.toFloatArray(), slots);
            for (int j = 0; j < members.length; j++) {
                correct += pred[j] == images.labels()[members[j]] ? 1 : 0;
            }
        }
        return (double) correct / images.size();
    }

    /**
     * DETR: mAP over the deterministic detection canvases.
     *
     * @param runner the model; input [batch, 1, 64, 64], outputs logits [batch, queries, classes + 1]
     *     then boxes [batch, queries, 4]
     * @param images the source images of the canvases
     * @param preprocessing pixel preprocessing
     * @param classes real classes
     * @return mAP@0.5 and mAP@[.5:.95]
     */
    public static Map<String, Double> detectionMap(ModelRunner runner, LabelledImages images,
                                                   ImagePreprocessing preprocessing, int classes) {
        List<DetectionCanvases.Canvas> canvases = DetectionCanvases.make(DetectionCanvases.EVAL_COUNT,
                DetectionCanvases.EVAL_SEED, images.pixels(), images.labels());
        String input = runner.inputs().get(0).name();
        String logitsName = runner.outputs().get(0).name();
        String boxesName = runner.outputs().get(1).name();
        List<MeanAveragePrecision.Image> results = new ArrayList<>();
        for (int start = 0; start < canvases.size(); start += 100) {
            int n = Math.min(100, canvases.size() - start);
            Tensor x = DetectionCanvases.input(canvases.subList(start, start + n), preprocessing, input);
            Map<String, Tensor> out = runner.run(Map.of(input, x), List.of(logitsName, boxesName));
            results.addAll(detections(out.get(logitsName), out.get(boxesName), canvases.subList(start, start + n)));
        }
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("map50", MeanAveragePrecision.at(results, classes, 0.5));
        m.put("map50_95", MeanAveragePrecision.averagedOverThresholds(results, classes));
        return m;
    }
}
