package dev.slimnx.graph.io;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writing files so that a reader never sees half of one: write a temporary file next to the
 * target, then move it into place. Every file slimnx writes (models, data files, reports,
 * manifests) goes through here.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes the content of a file. */
    @FunctionalInterface
    public interface Content {
        /**
         * @param file an empty file to fill
         * @throws IOException on failure
         */
        void writeTo(Path file) throws IOException;
    }

    /**
     * @param target the file to create or replace
     * @param content fills the temporary file
     * @throws IOException on failure; the target is then untouched and no temporary file is left
     */
    public static void write(Path target, Content content) throws IOException {
        Path tmp = temp(target);
        try {
            content.writeTo(tmp);
            move(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * A new empty file next to {@code target}. NOTE: not {@code Files.createTempFile}, whose
     * owner-only permissions would carry over to the file the user gets; this one follows the umask.
     *
     * @param target the file it will become
     * @return the temporary file
     * @throws IOException if it cannot be created
     */
    public static Path temp(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        for (int attempt = 0; ; attempt++) {
            Path tmp = absolute.resolveSibling("." + absolute.getFileName() + "."
                    + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    /**
     * Moves a finished temporary file over its target, atomically where the file system can.
     *
     * @param from the temporary file
     * @param to the target
     * @throws IOException on failure
     */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
