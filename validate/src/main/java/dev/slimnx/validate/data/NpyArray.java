package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;

/**
 * One NPY array read row by row from a stream (a {@code .npy} file, or an entry of a {@code .npz}
 * archive, stored or deflated), so only the rows of the current batch are in memory.
 */
public final class NpyArray implements AutoCloseable {
    private static final Set<DataType> FLOATS = Set.of(DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16);
    private static final Set<DataType> TARGETS = Set.of(DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16,
            DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.INT32, DataType.UINT32,
            DataType.INT64, DataType.UINT64, DataType.BOOL);

    private final InputStream in;
    private final NpyHeader header;
    private final String where;
    private long rowsRead;

    private NpyArray(InputStream in, NpyHeader header, String where) {
        this.in = in;
        this.header = header;
        this.where = where;
    }

    /**
     * @param in the stream at the start of the NPY data; closed by {@link #close()} (and here on failure)
     * @param where the file or {@code archive.npz:entry}, named in errors
     * @return the array, positioned at its first row
     * @throws DatasetException if the header is not a supported NPY header or the array has no rows axis
     * @throws IOException on read errors
     */
    public static NpyArray open(InputStream in, String where) throws IOException {
        try {
            NpyHeader header = NpyHeader.read(in, where);
            if (header.shape().length == 0) {
                throw new DatasetException(where + ": a scalar array; the first axis must list the items");
            }
            return new NpyArray(in, header, where);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    /** @return the header */
    public NpyHeader header() {
        return header;
    }

    /** @return the file or entry, as named in errors */
    public String where() {
        return where;
    }

    /**
     * Reads the next rows as a tensor of the wanted element type. Integer and bool data convert to
     * any numeric type; floating-point data only to floating-point types, since truncating it to
     * integers would hide a wrong file behind plausible numbers.
     *
     * @param rows rows to read
     * @param name the tensor name
     * @param target the element type of the model input, or null for the array's own type
     * @return the rows, shape {@code [rows, shape[1:]...]}
     * @throws DatasetException if the data ends early or cannot convert to the target type
     * @throws IOException on read errors
     */
    public Tensor readRows(int rows, String name, DataType target) throws IOException {
        DataType to = target == null ? header.type() : target;
        if (!TARGETS.contains(to)) {
            throw new DatasetException(where + ": model input '" + name + "' is " + to + ", which NPY data cannot feed");
        }
        if (FLOATS.contains(header.type()) && !FLOATS.contains(to)) {
            throw new DatasetException(where + ": holds " + header.type() + " values, but model input '" + name
                    + "' is " + to + "; save the array with that type");
        }
        ByteBuffer src = readBytes(rows);
        long[] dims = header.shape().clone();
        dims[0] = rows;
        if (to == header.type() && header.order() == ByteOrder.LITTLE_ENDIAN) {
            return Tensor.ofRaw(name, to, dims, src);
        }
        int n = (int) Tensor.elementCount(dims);
        ByteBuffer dst = ByteBuffer.allocate((int) to.byteSize(n)).order(ByteOrder.LITTLE_ENDIAN);
        boolean fromFloat = FLOATS.contains(header.type());
        for (int i = 0; i < n; i++) {
            if (fromFloat) {
                putDouble(dst, to, getDouble(src, i));
            } else {
                putLong(dst, to, getLong(src, i));
            }
        }
        return Tensor.ofRaw(name, to, dims, dst.flip());
    }

    /**
     * @param rows rows to read
     * @return the next rows as class labels; the array must be [N] or [N, 1] of integers
     * @throws DatasetException if the array is not a column of integers or ends early
     * @throws IOException on read errors
     */
    public int[] readLabels(int rows) throws IOException {
        long[] shape = header.shape();
        if (FLOATS.contains(header.type()) || shape.length > 2 || (shape.length == 2 && shape[1] != 1)) {
            throw new DatasetException(where + ": labels must be integers of shape (N,) or (N, 1), got "
                    + header.type() + " " + header.shapeText());
        }
        ByteBuffer src = readBytes(rows);
        int[] out = new int[rows];
        for (int i = 0; i < rows; i++) {
            out[i] = Math.toIntExact(getLong(src, i));
        }
        return out;
    }

    private ByteBuffer readBytes(int rows) throws IOException {
        if (rowsRead + rows > header.rows()) {
            throw new IllegalArgumentException(rows + " rows asked, " + (header.rows() - rowsRead) + " left");
        }
        long bytes = Math.multiplyExact(header.rowBytes(), (long) rows);
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new DatasetException(where + ": a batch of " + rows + " rows takes " + bytes + " bytes; use a smaller batch");
        }
        byte[] buf = in.readNBytes((int) bytes);
        if (buf.length < bytes) {
            throw new DatasetException(where + ": data ends after " + (rowsRead + buf.length / Math.max(1, header.rowBytes()))
                    + " of " + header.rows() + " rows");
        }
        rowsRead += rows;
        return ByteBuffer.wrap(buf).order(header.order());
    }

    private double getDouble(ByteBuffer b, int i) {
        return switch (header.type()) {
            case FLOAT -> b.getFloat(4 * i);
            case DOUBLE -> b.getDouble(8 * i);
            default -> Float.float16ToFloat(b.getShort(2 * i));
        };
    }

    private long getLong(ByteBuffer b, int i) {
        return switch (header.type()) {
            case INT8 -> b.get(i);
            case UINT8, BOOL -> b.get(i) & 0xFF;
            case INT16 -> b.getShort(2 * i);
            case UINT16 -> b.getShort(2 * i) & 0xFFFF;
            case INT32 -> b.getInt(4 * i);
            case UINT32 -> b.getInt(4 * i) & 0xFFFFFFFFL;
            default -> b.getLong(8 * i); // INT64, UINT64 (bits kept)
        };
    }

    private static void putDouble(ByteBuffer b, DataType to, double v) {
        switch (to) {
            case FLOAT -> b.putFloat((float) v);
            case DOUBLE -> b.putDouble(v);
            default -> b.putShort(Float.floatToFloat16((float) v));
        }
    }

    private static void putLong(ByteBuffer b, DataType to, long v) {
        switch (to) {
            case FLOAT, DOUBLE, FLOAT16 -> putDouble(b, to, v);
            case INT8, UINT8 -> b.put((byte) v);
            case BOOL -> b.put((byte) (v != 0 ? 1 : 0));
            case INT16, UINT16 -> b.putShort((short) v);
            case INT32, UINT32 -> b.putInt((int) v);
            default -> b.putLong(v);
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
