package dev.slimnx.validate.data;

import java.io.IOException;
import java.nio.file.Path;

/** A data file that cannot be used: the message names the file and the problem. */
public final class DatasetException extends IOException {
    /**
     * @param file the file
     * @param problem what is wrong with it
     */
    public DatasetException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
