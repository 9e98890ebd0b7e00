package dev.slimnx.graph;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A model file that is not a valid ONNX model, or that slimnx refuses to read for safety (an
 * external-data location outside the model's folder, a size that does not match its dims). The
 * message names the file and the field path, e.g.
 * {@code model.onnx: graph.initializer[3].raw_data: holds 12 bytes, dims [4, 4] of FLOAT need 64}.
 */
public class ModelFormatException extends IOException {
    private final String file;
    private final String fieldPath;
    private final String problem;

    /**
     * @param file the file (or a description such as {@code <memory>})
     * @param fieldPath dotted protobuf field path, e.g. {@code graph.node[2].attribute[0]}; empty for the whole file
     * @param problem what is wrong
     */
    public ModelFormatException(String file, String fieldPath, String problem) {
        super(file + ": " + (fieldPath.isEmpty() ? "" : fieldPath + ": ") + problem);
        this.file = file;
        this.fieldPath = fieldPath;
        this.problem = problem;
    }

    /**
     * @param file the file
     * @param fieldPath dotted field path
     * @param problem what is wrong
     */
    public ModelFormatException(Path file, String fieldPath, String problem) {
        this(file == null ? "<memory>" : file.toString(), fieldPath, problem);
    }

    /** @return the file */
    public String file() {
        return file;
    }

    /** @return the field path, empty for the whole file */
    public String fieldPath() {
        return fieldPath;
    }

    /** @return what is wrong, without file and path */
    public String problem() {
        return problem;
    }
}
