package dev.slimnx.graph.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable tensor value: name, element type, dims and data.
 *
 * <p>A tensor does not copy what it reads: raw data is a view into the memory-mapped model file
 * and external data is mapped on first access. Typed accessors ({@link #toFloatArray()} and
 * friends) decode into new arrays; {@link #rawBytes()} gives the bytes in ONNX raw layout (little
 * endian, 4-bit types packed two per byte, low nibble first).
 *
 * <p>The element type is kept as its numeric code too, so a tensor of a type this version does
 * not know still round-trips.
 */
public final class Tensor {
    private final String name;
    private final int dataTypeCode;
    private final long[] dims;
    private final TensorData data;
    private final String docString;
    private final List<StringPair> metadata;
    private final byte[] segment;
    private final OpaqueFields extra;

    /**
     * Full constructor, used by the reader; passes normally use the factories.
     *
     * @param name the name (empty allowed)
     * @param dataTypeCode {@code TensorProto.DataType} code
     * @param dims the dims (copied)
     * @param data where the values live
     * @param docString documentation, empty when none
     * @param metadata metadata entries
     * @param segment encoded {@code Segment} message, or null when absent
     * @param extra uninterpreted fields
     */
    public Tensor(String name, int dataTypeCode, long[] dims, TensorData data, String docString,
                  List<StringPair> metadata, byte[] segment, OpaqueFields extra) {
        this.name = Objects.requireNonNull(name);
        this.dataTypeCode = dataTypeCode;
        this.dims = dims.clone();
        this.data = Objects.requireNonNull(data);
        this.docString = Objects.requireNonNull(docString);
        this.metadata = List.copyOf(metadata);
        this.segment = segment == null ? null : segment.clone();
        this.extra = Objects.requireNonNull(extra);
    }

    /**
     * @param name tensor name
     * @param type element type
     * @param dims dims
     * @param littleEndianBytes values in ONNX raw layout (not copied; must not be changed later)
     * @return a tensor with raw storage
     */
    public static Tensor ofRaw(String name, DataType type, long[] dims, ByteBuffer littleEndianBytes) {
        checkRawSize(type, dims, littleEndianBytes.remaining());
        return new Tensor(name, type.code(), dims, new TensorData.Raw(littleEndianBytes.slice()), "", List.of(),
                null, OpaqueFields.NONE);
    }

    /**
     * @param name tensor name
     * @param dims dims
     * @param values values in row-major order (copied)
     * @return a FLOAT tensor
     */
    public static Tensor ofFloats(String name, long[] dims, float... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return ofRaw(name, DataType.FLOAT, dims, buf);
    }

    /**
     * @param name tensor name
     * @param dims dims
     * @param values values in row-major order (copied)
     * @return an INT64 tensor
     */
    public static Tensor ofLongs(String name, long[] dims, long... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        buf.asLongBuffer().put(values);
        return ofRaw(name, DataType.INT64, dims, buf);
    }

    /**
     * @param name tensor name
     * @param type an integer type of at least 8 bits, or BOOL
     * @param dims dims
     * @param values values (narrowed to the type's width)
     * @return a tensor of that type
     */
    public static Tensor ofIntegers(String name, DataType type, long[] dims, long... values) {
        int bytes = type.bits() / 8;
        if (!(type.isInteger() || type == DataType.BOOL) || type.bits() < 8) {
            throw new IllegalArgumentException("not a byte-aligned integer type: " + type);
        }
        ByteBuffer buf = ByteBuffer.allocate(values.length * bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            switch (bytes) {
                case 1 -> buf.put((byte) v);
                case 2 -> buf.putShort((short) v);
                case 4 -> buf.putInt((int) v);
                default -> buf.putLong(v);
            }
        }
        return ofRaw(name, type, dims, buf.flip());
    }

    private static void checkRawSize(DataType type, long[] dims, long bytes) {
        long expected = type.byteSize(elementCount(dims));
        if (expected != bytes) {
            throw new IllegalArgumentException(type + Arrays.toString(dims) + " needs " + expected + " bytes, got " + bytes);
        }
    }

    /**
     * @param dims dims
     * @return their product
     * @throws ArithmeticException on overflow
     * @throws IllegalArgumentException for a negative dim
     */
    public static long elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dim " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** @return the name, empty when unnamed */
    public String name() {
        return name;
    }

    /**
     * @param newName the name
     * @return a tensor with the same data under another name
     */
    public Tensor withName(String newName) {
        return new Tensor(newName, dataTypeCode, dims, data, docString, metadata, segment, extra);
    }

    /** @return the element type; UNDEFINED for a code this version does not know */
    public DataType dataType() {
        return DataType.fromCode(dataTypeCode).orElse(DataType.UNDEFINED);
    }

    /** @return the element type code as stored */
    public int dataTypeCode() {
        return dataTypeCode;
    }

    /** @return a copy of the dims */
    public long[] dims() {
        return dims.clone();
    }

    /** @return the rank */
    public int rank() {
        return dims.length;
    }

    /** @return the dims as a static shape */
    public Shape shape() {
        return Shape.of(dims);
    }

    /** @return number of elements */
    public long numElements() {
        return elementCount(dims);
    }

    /** @return the storage form */
    public TensorData data() {
        return data;
    }

    /** @return true if the values live in an external file */
    public boolean isExternal() {
        return data instanceof TensorData.External;
    }

    /** @return documentation, empty when none */
    public String docString() {
        return docString;
    }

    /** @return metadata entries */
    public List<StringPair> metadata() {
        return metadata;
    }

    /** @return the encoded {@code Segment} message, or null */
    public byte[] segment() {
        return segment == null ? null : segment.clone();
    }

    /** @return uninterpreted fields */
    public OpaqueFields extra() {
        return extra;
    }

    /**
     * @return bytes the values take in raw layout (for STRING: the sum of the string lengths)
     */
    public long byteSize() {
        DataType t = dataType();
        if (t == DataType.STRING) {
            return strings().stream().mapToLong(b -> b.length).sum();
        }
        if (t.bits() == 0) {
            return switch (data) {
                case TensorData.Raw r -> r.bytes().remaining();
                case TensorData.External e -> e.location().length();
                case TensorData.Fields f -> 0;
            };
        }
        return t.byteSize(numElements());
    }

    /**
     * @return the values in ONNX raw layout as a read-only little-endian buffer; a view for raw and
     *     external storage, newly encoded for typed fields
     * @throws IllegalStateException for STRING tensors
     */
    public ByteBuffer rawBytes() {
        return switch (data) {
            case TensorData.Raw r -> r.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            case TensorData.External e -> e.location().bytes();
            case TensorData.Fields f -> TensorCodec.encodeFields(dataType(), numElements(), f)
                    .asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        };
    }

    /** @return the values converted to float (numeric types only) */
    public float[] toFloatArray() {
        if (data instanceof TensorData.Fields f && f.values() instanceof float[] a && dataType() == DataType.FLOAT) {
            return a.clone();
        }
        return TensorCodec.decodeFloats(dataType(), rawBytes(), checkedCount());
    }

    /** @return the values converted to double (numeric types only) */
    public double[] toDoubleArray() {
        return TensorCodec.decodeDoubles(dataType(), rawBytes(), checkedCount());
    }

    /** @return the values converted to long (integer types and BOOL; floats are truncated) */
    public long[] toLongArray() {
        return TensorCodec.decodeLongs(dataType(), rawBytes(), checkedCount());
    }

    /** @return the values of a STRING tensor */
    public List<byte[]> strings() {
        if (data instanceof TensorData.Fields f && f.values() instanceof List<?> list) {
            List<byte[]> out = new ArrayList<>(list.size());
            for (Object o : list) {
                out.add(((byte[]) o).clone());
            }
            return out;
        }
        if (data == TensorData.Fields.EMPTY) {
            return List.of();
        }
        throw new IllegalStateException("tensor '" + name + "' holds no string_data");
    }

    private int checkedCount() {
        long n = numElements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor '" + name + "' has " + n + " elements, too many for one array");
        }
        return (int) n;
    }

    @Override
    public String toString() {
        return "Tensor[" + name + " " + dataType() + Arrays.toString(dims) + "]";
    }
}
