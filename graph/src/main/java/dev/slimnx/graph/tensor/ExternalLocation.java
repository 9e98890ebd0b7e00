package dev.slimnx.graph.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;

/**
 * A region of an external-data file: the entries of {@code TensorProto.external_data} exactly as
 * the file had them, and the file they resolve to. The reader checks the location (relative, inside
 * the model's folder, symlinks resolved) and the region (inside the file) before creating one; the
 * bytes are mapped lazily, on first access, so loading a model with external data reads nothing.
 */
public final class ExternalLocation {
    private final List<StringPair> entries;
    private final Path file;
    private final long offset;
    private final long length;
    private ByteBuffer mapped;

    /**
     * @param entries the {@code external_data} entries as read (location, offset, length, checksum, ...)
     * @param file the resolved, checked file
     * @param offset first byte of the region
     * @param length bytes in the region
     */
    public ExternalLocation(List<StringPair> entries, Path file, long offset, long length) {
        this.entries = List.copyOf(entries);
        this.file = Objects.requireNonNull(file);
        this.offset = offset;
        this.length = length;
    }

    /** @return the {@code external_data} entries in file order */
    public List<StringPair> entries() {
        return entries;
    }

    /** @return the value of the {@code location} entry */
    public String location() {
        return entries.stream().filter(e -> e.key().equals("location")).map(StringPair::value).findFirst().orElse("");
    }

    /** @return the resolved data file */
    public Path file() {
        return file;
    }

    /** @return offset of the region in the file */
    public long offset() {
        return offset;
    }

    /** @return length of the region */
    public long length() {
        return length;
    }

    /**
     * @return the region as a read-only little-endian buffer, mapped on first call
     * @throws UncheckedIOException if the file can no longer be read
     */
    public synchronized ByteBuffer bytes() {
        if (mapped == null) {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                if (offset + length > ch.size()) {
                    throw new IOException(file + ": external data region " + offset + "+" + length
                            + " is past the end of the file (" + ch.size() + " bytes); was the file changed?");
                }
                mapped = ch.map(FileChannel.MapMode.READ_ONLY, offset, length);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return mapped.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
}
