package dev.slimnx.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Rules for output paths shared by every command that writes a model. */
final class OutputFiles {
    private OutputFiles() {
    }

    /**
     * Refuses to overwrite the input unless {@code --force} was given, and an output folder that
     * does not exist or is not a folder.
     *
     * @param input the model read
     * @param output the model to write
     * @param force whether {@code --force} was given
     * @throws UserError if the output is not acceptable
     */
    static void check(Path input, Path output, boolean force) {
        Path parent = output.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new UserError(output + ": folder " + parent + " does not exist");
        }
        if (Files.isDirectory(output)) {
            throw new UserError(output + ": is a folder; give a file name for the output model");
        }
        try {
            if (Files.exists(output) && Files.isSameFile(input, output) && !force) {
                throw new UserError(output + ": is the input model; choose another output or add --force to replace it");
            }
        } catch (IOException e) {
            throw new UserError(output + ": " + e.getMessage());
        }
    }
}
