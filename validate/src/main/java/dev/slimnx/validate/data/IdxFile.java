package dev.slimnx.validate.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * A streaming reader of IDX files, the format of MNIST and Fashion-MNIST: a magic number giving
 * the element type and rank, the dims as big-endian int32, then the items in row-major order.
 * Gzip-compressed files are recognised by their magic bytes. Items are read in batches, so a file
 * of any size is read in bounded memory.
 */
public final class IdxFile implements AutoCloseable {
    /** Element types of IDX, by the third byte of the magic number. */
    public enum ElementType {
        UBYTE(0x08, 1), BYTE(0x09, 1), SHORT(0x0B, 2), INT(0x0C, 4), FLOAT(0x0D, 4), DOUBLE(0x0E, 8);

        final int code;
        final int size;

        ElementType(int code, int size) {
            this.code = code;
            this.size = size;
        }
    }

    private final Path file;
    private final DataInputStream in;
    private final ElementType type;
    private final int[] dims;
    private final int itemElements;
    private int itemsRead;

    private IdxFile(Path file, DataInputStream in, ElementType type, int[] dims) {
        this.file = file;
        this.in = in;
        this.type = type;
        this.dims = dims;
        int n = 1;
        for (int i = 1; i < dims.length; i++) {
            n = Math.multiplyExact(n, dims[i]);
        }
        this.itemElements = n;
    }

    /**
     * @param file an IDX file, gzip-compressed or not
     * @return the open reader, positioned at the first item
     * @throws DatasetException if the header is not IDX
     * @throws IOException if the file cannot be read
     */
    public static IdxFile open(Path file) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        try {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            InputStream body = b0 == 0x1f && b1 == 0x8b ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
            DataInputStream in = new DataInputStream(body);
            int magic;
            try {
                magic = in.readInt();
            } catch (EOFException e) {
                throw new DatasetException(file, "too short for an IDX header");
            }
            if ((magic >>> 16) != 0) {
                throw new DatasetException(file, String.format("not an IDX file (magic 0x%08x)", magic));
            }
            int code = (magic >>> 8) & 0xFF;
            int rank = magic & 0xFF;
            ElementType type = Arrays.stream(ElementType.values()).filter(t -> t.code == code).findFirst()
                    .orElseThrow(() -> new DatasetException(file, String.format("unknown IDX element type 0x%02x", code)));
            if (rank < 1 || rank > 8) {
                throw new DatasetException(file, "IDX rank " + rank + " is out of range 1..8");
            }
            int[] dims = new int[rank];
            for (int i = 0; i < rank; i++) {
                dims[i] = in.readInt();
                if (dims[i] < 0) {
                    throw new DatasetException(file, "IDX dim " + i + " is negative: " + dims[i]);
                }
            }
            return new IdxFile(file, in, type, dims);
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /** @return the file */
    public Path file() {
        return file;
    }

    /** @return the element type */
    public ElementType type() {
        return type;
    }

    /** @return the number of items (the first dim) */
    public int count() {
        return dims[0];
    }

    /** @return the dims of one item (e.g. [28, 28] for images, [] for labels) */
    public int[] itemDims() {
        return Arrays.copyOfRange(dims, 1, dims.length);
    }

    /** @return elements per item */
    public int itemElements() {
        return itemElements;
    }

    /** @return items read so far */
    public int position() {
        return itemsRead;
    }

    /**
     * Reads up to {@code maxItems} items as floats (the raw values, no scaling).
     *
     * @param dst receives {@code items × itemElements()} values from index 0
     * @param maxItems the most items to read
     * @return items read; 0 at the end of the file
     * @throws DatasetException if the file ends before its header says it should
     * @throws IOException on read errors
     */
    public int read(float[] dst, int maxItems) throws IOException {
        int items = Math.min(maxItems, count() - itemsRead);
        if (items <= 0) {
            return 0;
        }
        int n = items * itemElements;
        if (dst.length < n) {
            throw new IllegalArgumentException("buffer holds " + dst.length + " values, " + n + " needed");
        }
        byte[] bytes = new byte[n * type.size];
        try {
            in.readFully(bytes);
        } catch (EOFException e) {
            throw new DatasetException(file, "ends after " + itemsRead + " of " + count() + " items");
        }
        var buf = java.nio.ByteBuffer.wrap(bytes); // IDX is big-endian
        for (int i = 0; i < n; i++) {
            dst[i] = switch (type) {
                case UBYTE -> bytes[i] & 0xFF;
                case BYTE -> bytes[i];
                case SHORT -> buf.getShort(2 * i);
                case INT -> buf.getInt(4 * i);
                case FLOAT -> buf.getFloat(4 * i);
                case DOUBLE -> (float) buf.getDouble(8 * i);
            };
        }
        itemsRead += items;
        return items;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
