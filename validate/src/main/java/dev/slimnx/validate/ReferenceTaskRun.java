package dev.slimnx.validate;

import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.validate.data.DetectionCanvases;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import dev.slimnx.validate.metrics.ClassificationAccumulator;
import dev.slimnx.validate.metrics.MeanAveragePrecision;
import dev.slimnx.validate.metrics.OutputErrorAccumulator;
import dev.slimnx.validate.report.ValidationReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Baseline against candidate on the tasks whose data is not a plain batch of images: NaViT's packed
 * mixed-resolution stream and DETR's detection canvases. Both models see exactly the evaluation
 * sets the reference recipes were judged on ({@link NavitStream}, {@link DetectionCanvases}).
 */
public final class ReferenceTaskRun {
    private ReferenceTaskRun() {
    }

    /**
     * NaViT: every pack run through both models; the logits rows of the pack's images are judged
     * as a classifier (top-1, agreement, paired interval) and compared element by element.
     *
     * @param baseline reference runner; inputs (patches, pos_y, pos_x, image_ids), output [slots, classes]
     * @param candidate judged runner with the same signature
     * @param images the test images
     * @param preprocessing pixel preprocessing
     * @param limit most images to use, 0 for all
     * @param progress progress receiver
     * @return the figures, as an accuracy run
     */
    public static AccuracyRun.Result packed(ModelRunner baseline, ModelRunner candidate, LabelledImages images,
                                            ImagePreprocessing preprocessing, int limit, Progress progress) {
        float[][] pixels = images.preprocessed(preprocessing);
        int n = limit > 0 ? Math.min(limit, images.size()) : images.size();
        int[] sizes = NavitStream.sizes(images.size(), NavitStream.EVAL_SEED);
        List<String> names = baseline.inputs().stream().map(io -> io.name()).toList();
        String output = baseline.outputs().get(0).name();
        ClassificationAccumulator cls = null;
        OutputErrorAccumulator err = new OutputErrorAccumulator();
        long items = 0;
        for (int[] members : NavitStream.pack(java.util.Arrays.copyOf(sizes, n))) {
            Map<String, Tensor> feeds = NavitStream.build(pixels, sizes, members, 0).feeds(names);
            Tensor a = baseline.run(feeds, List.of(output)).get(output);
            Tensor b = candidate.run(feeds, List.of(output)).get(output);
            int classes = (int) a.dims()[a.rank() - 1];
            float[] ra = java.util.Arrays.copyOf(a.toFloatArray(), members.length * classes);
            float[] rb = java.util.Arrays.copyOf(b.toFloatArray(), members.length * classes);
            int[] labels = new int[members.length];
            for (int j = 0; j < members.length; j++) {
                labels[j] = images.labels()[members[j]];
            }
            if (cls == null) {
                cls = new ClassificationAccumulator(classes);
            }
            cls.add(ra, rb, labels, members.length);
            err.add(ra, rb);
            items += members.length;
            progress.update(items, n, "packs");
        }
        var r = cls.result();
        var acc = new ValidationReport.Accuracy(output, r.perClassBaseline().length, r.baselineTop1(), r.candidateTop1(),
                r.baselineTop5(), r.candidateTop5(), r.agreement(), r.top1Diff(),
                new double[] {r.top1DiffLow(), r.top1DiffHigh()}, r.perClassBaseline(), r.perClassCandidate());
        var e = err.result();
        return new AccuracyRun.Result(items, true, acc, List.of(acc),
                List.of(new ValidationReport.OutputError(output, e.maxAbs(), e.meanAbs(), e.cosine(), e.sqnrDb(), e.identical())),
                null);
    }

    /**
     * DETR: the detection canvases through both models; mAP of each, and every output compared.
     *
     * @param baseline reference runner; input [batch, 1, 64, 64], outputs logits [batch, queries, classes + 1]
     *     then boxes [batch, queries, 4]
     * @param candidate judged runner with the same signature
     * @param images the images the canvases are made of
     * @param preprocessing pixel preprocessing
     * @param classes real classes
     * @param limit most canvases to use, 0 for all
     * @param progress progress receiver
     * @return the figures, with no classification accuracy
     */
    public static AccuracyRun.Result detection(ModelRunner baseline, ModelRunner candidate, LabelledImages images,
                                               ImagePreprocessing preprocessing, int classes, int limit, Progress progress) {
        int count = limit > 0 ? Math.min(limit, DetectionCanvases.EVAL_COUNT) : DetectionCanvases.EVAL_COUNT;
        List<DetectionCanvases.Canvas> canvases = DetectionCanvases.make(DetectionCanvases.EVAL_COUNT,
                DetectionCanvases.EVAL_SEED, images.pixels(), images.labels()).subList(0, count);
        String input = baseline.inputs().get(0).name();
        List<String> outs = baseline.outputs().stream().map(io -> io.name()).toList();
        List<OutputErrorAccumulator> errors = new ArrayList<>();
        outs.forEach(o -> errors.add(new OutputErrorAccumulator()));
        List<MeanAveragePrecision.Image> base = new ArrayList<>();
        List<MeanAveragePrecision.Image> cand = new ArrayList<>();
        for (int start = 0; start < canvases.size(); start += 100) {
            int n = Math.min(100, canvases.size() - start);
            Map<String, Tensor> feeds = Map.of(input, DetectionCanvases.input(canvases.subList(start, start + n), preprocessing, input));
            Map<String, Tensor> a = baseline.run(feeds, outs);
            Map<String, Tensor> b = candidate.run(feeds, outs);
            for (int o = 0; o < outs.size(); o++) {
                errors.get(o).add(a.get(outs.get(o)).toFloatArray(), b.get(outs.get(o)).toFloatArray());
            }
            List<DetectionCanvases.Canvas> truth = canvases.subList(start, start + n);
            base.addAll(ReferenceTaskEvaluator.detections(a.get(outs.get(0)), a.get(outs.get(1)), truth));
            cand.addAll(ReferenceTaskEvaluator.detections(b.get(outs.get(0)), b.get(outs.get(1)), truth));
            progress.update(start + n, canvases.size(), "canvases");
        }
        List<ValidationReport.OutputError> out = new ArrayList<>();
        for (int o = 0; o < outs.size(); o++) {
            var e = errors.get(o).result();
            out.add(new ValidationReport.OutputError(outs.get(o), e.maxAbs(), e.meanAbs(), e.cosine(), e.sqnrDb(), e.identical()));
        }
        var det = new ValidationReport.Detection(MeanAveragePrecision.at(base, classes, 0.5),
                MeanAveragePrecision.at(cand, classes, 0.5), MeanAveragePrecision.averagedOverThresholds(base, classes),
                MeanAveragePrecision.averagedOverThresholds(cand, classes));
        return new AccuracyRun.Result(canvases.size(), true, null, List.of(), out, det);
    }
}
