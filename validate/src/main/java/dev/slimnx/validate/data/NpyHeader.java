package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of a {@code .npy} file (NumPy format versions 1, 2 and 3): the magic
 * {@code \x93NUMPY}, two version bytes, the header length (2 bytes little-endian in version 1,
 * 4 bytes after), then a Python dict literal such as
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (10, 3, 28, 28), }}.
 * Parsed here by hand: the format is small and fixed, and a Python-literal library would be a
 * dependency for six lines of grammar.
 *
 * @param type the element type the descr names
 * @param order byte order of the data
 * @param shape the array's shape
 */
public record NpyHeader(DataType type, ByteOrder order, long[] shape) {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 20;

    /**
     * Reads the header and leaves the stream at the first data byte.
     *
     * @param in the stream, at the start of the file
     * @param where the file (or {@code archive.npz:entry}) named in errors
     * @return the header
     * @throws DatasetException if the header is not a supported NPY header; the message says which part
     * @throws IOException on read errors
     */
    public static NpyHeader read(InputStream in, String where) throws IOException {
        byte[] start = in.readNBytes(8);
        if (start.length < 8 || !Arrays.equals(Arrays.copyOf(start, 6), MAGIC)) {
            throw error(where, "not an NPY file (no \\x93NUMPY magic)");
        }
        int major = start[6];
        if (major < 1 || major > 3) {
            throw error(where, "NPY version " + major + "." + start[7] + " is not supported (1, 2 and 3 are)");
        }
        byte[] len = in.readNBytes(major == 1 ? 2 : 4);
        long headerLength = 0;
        for (int i = len.length - 1; i >= 0; i--) {
            headerLength = (headerLength << 8) | (len[i] & 0xFF);
        }
        if (len.length < (major == 1 ? 2 : 4) || headerLength > MAX_HEADER) {
            throw error(where, "corrupt NPY header length " + headerLength);
        }
        byte[] text = in.readNBytes((int) headerLength);
        if (text.length < headerLength) {
            throw error(where, "file ends inside the NPY header");
        }
        String dict = new String(text, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        return parse(dict.strip(), where);
    }

    /**
     * @param dict the header dict literal
     * @param where named in errors
     * @return the header
     * @throws DatasetException if the dict is malformed, a key is missing, or the array is Fortran-ordered
     *     or of an unsupported dtype
     */
    static NpyHeader parse(String dict, String where) throws DatasetException {
        Map<String, Object> entries;
        try {
            entries = new Literal(dict).dict();
        } catch (IllegalArgumentException e) {
            throw error(where, "corrupt NPY header: " + e.getMessage() + " in " + dict);
        }
        for (String key : List.of("descr", "fortran_order", "shape")) {
            if (!entries.containsKey(key)) {
                throw error(where, "corrupt NPY header: no '" + key + "' in " + dict);
            }
        }
        if (!(entries.get("descr") instanceof String descr)) {
            throw error(where, "structured NPY dtypes are not supported (descr " + entries.get("descr") + ")");
        }
        if (!(entries.get("fortran_order") instanceof Boolean fortran)) {
            throw error(where, "corrupt NPY header: fortran_order is not True or False");
        }
        if (fortran) {
            throw error(where, "Fortran-ordered arrays are not supported; save np.ascontiguousarray(a)");
        }
        if (!(entries.get("shape") instanceof long[] shape)) {
            throw error(where, "corrupt NPY header: shape is not a tuple of integers");
        }
        return new NpyHeader(type(descr, where), descr.startsWith(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN, shape);
    }

    private static DataType type(String descr, String where) throws DatasetException {
        String d = descr.length() == 3 && "<>|=".indexOf(descr.charAt(0)) >= 0 ? descr.substring(1) : "?";
        DataType t = switch (d) {
            case "f2" -> DataType.FLOAT16;
            case "f4" -> DataType.FLOAT;
            case "f8" -> DataType.DOUBLE;
            case "i1" -> DataType.INT8;
            case "i2" -> DataType.INT16;
            case "i4" -> DataType.INT32;
            case "i8" -> DataType.INT64;
            case "u1" -> DataType.UINT8;
            case "u2" -> DataType.UINT16;
            case "u4" -> DataType.UINT32;
            case "u8" -> DataType.UINT64;
            case "b1" -> DataType.BOOL;
            default -> null;
        };
        if (t == null) {
            throw error(where, "NPY dtype '" + descr + "' is not supported (floats f2/f4/f8, integers i1..i8 and u1..u8, bool b1)");
        }
        return t;
    }

    /** @return the number of rows (the first dim) */
    public long rows() {
        return shape[0];
    }

    /** @return bytes of one row (all dims but the first) */
    public long rowBytes() {
        long n = 1;
        for (int i = 1; i < shape.length; i++) {
            n = Math.multiplyExact(n, shape[i]);
        }
        return type.byteSize(n);
    }

    /** @return the shape written as NumPy prints it, e.g. {@code (10, 3, 28, 28)} */
    public String shapeText() {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            b.append(i > 0 ? ", " : "").append(shape[i]);
        }
        return b.append(shape.length == 1 ? ",)" : ")").toString();
    }

    private static DatasetException error(String where, String problem) {
        return new DatasetException(where + ": " + problem);
    }

    /** A reader of the Python literals NPY headers use: dicts, strings, True/False, integers, tuples. */
    private static final class Literal {
        private final String s;
        private int i;

        Literal(String s) {
            this.s = s;
        }

        Map<String, Object> dict() {
            expect('{');
            Map<String, Object> out = new HashMap<>();
            while (!peek('}')) {
                Object key = value();
                if (!(key instanceof String k)) {
                    throw new IllegalArgumentException("dict key is not a string at " + i);
                }
                expect(':');
                out.put(k, value());
                if (!peek('}')) {
                    expect(',');
                }
            }
            expect('}');
            skipSpace();
            if (i != s.length()) {
                throw new IllegalArgumentException("text after the dict at " + i);
            }
            return out;
        }

        private Object value() {
            skipSpace();
            if (i >= s.length()) {
                throw new IllegalArgumentException("unexpected end");
            }
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                int end = s.indexOf(c, i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("unterminated string at " + i);
                }
                String str = s.substring(i + 1, end);
                i = end + 1;
                return str;
            }
            if (c == '(') {
                i++;
                List<Long> dims = new ArrayList<>();
                while (!peek(')')) {
                    dims.add(integer());
                    if (!peek(')')) {
                        expect(',');
                    }
                }
                expect(')');
                return dims.stream().mapToLong(Long::longValue).toArray();
            }
            if (c == '[') {
                int depth = 0; // a structured dtype: skip it whole, the caller refuses it
                int startAt = i;
                do {
                    depth += s.charAt(i) == '[' ? 1 : s.charAt(i) == ']' ? -1 : 0;
                    i++;
                } while (depth > 0 && i < s.length());
                return List.of(s.substring(startAt, i));
            }
            if (s.startsWith("True", i)) {
                i += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", i)) {
                i += 5;
                return Boolean.FALSE;
            }
            return integer();
        }

        private long integer() {
            skipSpace();
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '-')) {
                i++;
            }
            try {
                long v = Long.parseLong(s.substring(start, i));
                if (v < 0) {
                    throw new IllegalArgumentException("negative dim " + v);
                }
                return v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("expected an integer at " + start);
            }
        }

        private boolean peek(char c) {
            skipSpace();
            return i < s.length() && s.charAt(i) == c;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw new IllegalArgumentException("expected '" + c + "' at " + i);
            }
            i++;
        }

        private void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }
    }
}
