package dev.slimnx.passes.train;

import dev.slimnx.graph.Model;
import java.util.Objects;

/**
 * Knowledge distillation from a teacher (Hinton et al., 2015): the teacher runs in its own ONNX
 * Runtime session on each batch, and the student learns from its softened outputs. With labels the
 * loss is {@code α·CE(labels) + (1 - α)·KL(T)}; without, KL alone.
 *
 * @param teacher the teacher model (usually the original before compression); not changed
 * @param teacherOutput the teacher output to learn from, or null for the output of the student's
 *     name when the teacher has one, else the teacher's first output
 * @param temperature T &gt; 0 (Hinton et al. use 1 to 20; 2 to 4 is common for fine-tuning)
 * @param alpha weight of the cross-entropy against labels, in [0, 1]; 0 learns from the teacher alone
 */
public record Distillation(Model teacher, String teacherOutput, double temperature, double alpha) {
    /**
     * @throws IllegalArgumentException when T is not positive or α is outside [0, 1]
     */
    public Distillation {
        Objects.requireNonNull(teacher, "teacher");
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("the temperature must be finite and positive, got " + temperature);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
        }
    }

    /**
     * @param teacher the teacher
     * @param temperature T
     * @param alpha α
     * @return distillation from the teacher's output named like the student's (or its first)
     */
    public static Distillation of(Model teacher, double temperature, double alpha) {
        return new Distillation(teacher, null, temperature, alpha);
    }
}
