package dev.slimnx.passes.train;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.AtomicFiles;
import dev.slimnx.graph.io.OnnxWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checkpoints of a training run: {@code step-000100.onnx}, the forward model with the weights of
 * that step as initializers (a model any ONNX tool loads), and {@code step-000100.json}, a small
 * sidecar with the step, epoch, loss, schedule and optimizer settings.
 *
 * <p>Each file is written to a temporary file in the same folder and moved into place atomically
 * ({@link AtomicFiles}, {@link OnnxWriter}), so a crash leaves the previous file or the new one,
 * never half of one, and no temporary file after a failure. NOTE: the model goes first and the
 * sidecar last, so a sidecar always has its whole model next to it.
 */
public final class Checkpoints {
    private Checkpoints() {
    }

    /**
     * @param dir the checkpoint folder, created when missing
     * @param step the step the weights are from
     * @param model the model with those weights
     * @param sidecar the sidecar's fields (strings, numbers, booleans, nulls, lists and maps of them)
     * @return the model file
     * @throws IOException when a file cannot be written; nothing partial is left
     */
    public static Path write(Path dir, long step, Model model, Map<String, ?> sidecar) throws IOException {
        Files.createDirectories(dir);
        String base = String.format(Locale.ROOT, "step-%06d", step);
        Path onnx = dir.resolve(base + ".onnx");
        OnnxWriter.write(model, onnx);
        Path json = dir.resolve(base + ".json");
        String text = json(sidecar) + "\n";
        AtomicFiles.write(json, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
        return onnx;
    }

    /**
     * @param value a string, number, boolean, null, list or map (keys as strings)
     * @return it as JSON; non-finite numbers become null
     */
    static String json(Object value) {
        StringBuilder sb = new StringBuilder();
        append(sb, value);
        return sb.toString();
    }

    private static void append(StringBuilder sb, Object value) {
        switch (value) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b);
            case Double d when !Double.isFinite(d) -> sb.append("null");
            case Float f when !Float.isFinite(f) -> sb.append("null");
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                sb.append('{');
                Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    string(sb, String.valueOf(e.getKey()));
                    sb.append(": ");
                    append(sb, e.getValue());
                    if (it.hasNext()) {
                        sb.append(", ");
                    }
                }
                sb.append('}');
            }
            case List<?> l -> {
                sb.append('[');
                for (int i = 0; i < l.size(); i++) {
                    append(sb, l.get(i));
                    if (i + 1 < l.size()) {
                        sb.append(", ");
                    }
                }
                sb.append(']');
            }
            default -> string(sb, value.toString());
        }
    }

    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
