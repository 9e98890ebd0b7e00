package dev.slimnx.validate.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Data that cannot be used: the message names the file (or the model input) and the problem, in
 * one line the command line prints as it is.
 */
public final class DatasetException extends IOException {
    /**
     * @param file the file
     * @param problem what is wrong with it
     */
    public DatasetException(Path file, String problem) {
        super(file + ": " + problem);
    }

    /**
     * For problems that belong to no single file, such as a model input the data cannot feed.
     *
     * @param message the whole message
     */
    public DatasetException(String message) {
        super(message);
    }
}
