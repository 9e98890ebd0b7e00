package dev.slimnx.graph.io;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.WireFormat;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Finds where a malformed file breaks. The generated parser only says "truncated" or "invalid
 * tag"; this walks the wire format again with the schema's descriptors, keeping the field path,
 * and reports the innermost field where reading fails, e.g. {@code graph.node[3].attribute[0].t.raw_data}.
 */
final class WireLocator {

    /**
     * @param path dotted field path
     * @param problem what went wrong there
     */
    record Failure(String path, String problem) {
    }

    private static final class Found extends Exception {
        final Failure failure;

        Found(String path, String problem) {
            super(problem, null, false, false);
            this.failure = new Failure(path, problem);
        }
    }

    private WireLocator() {
    }

    /**
     * @param buffer the bytes that failed to parse
     * @return where they break, or null if the walk finds nothing wrong
     */
    static Failure locate(ByteBuffer buffer) {
        try {
            int total = buffer.remaining();
            CodedInputStream in = CodedInputStream.newInstance(buffer);
            in.setSizeLimit(Integer.MAX_VALUE);
            walk(in, total, ModelProto.getDescriptor(), "", 0);
            return null;
        } catch (Found f) {
            return f.failure;
        }
    }

    private static void walk(CodedInputStream in, int total, Descriptor type, String path, int depth) throws Found {
        if (depth > OnnxReader.RECURSION_LIMIT) {
            throw new Found(path, "messages nested more than " + OnnxReader.RECURSION_LIMIT + " deep");
        }
        Map<Integer, Integer> counts = new HashMap<>();
        while (true) {
            int tag;
            try {
                if (in.isAtEnd()) {
                    return;
                }
                tag = in.readTag();
            } catch (IOException e) {
                throw new Found(path, "truncated or corrupt field tag (" + e.getMessage() + ")");
            }
            if (tag == 0) {
                throw new Found(path, "invalid field tag 0");
            }
            int number = WireFormat.getTagFieldNumber(tag);
            int wire = WireFormat.getTagWireType(tag);
            FieldDescriptor field = type.findFieldByNumber(number);
            String name = field != null ? field.getName() : "#" + number;
            String fieldPath = path.isEmpty() ? name : path + "." + name;
            if (field != null && field.isRepeated()) {
                int index = counts.merge(number, 1, Integer::sum) - 1;
                fieldPath += "[" + index + "]";
            }
            try {
                if (field != null && !wireTypeFits(field, wire)) {
                    throw new Found(fieldPath, "wrong wire type " + wireName(wire) + " for a field of type "
                            + field.getType().name().toLowerCase());
                }
                if (field != null && field.getType() == FieldDescriptor.Type.MESSAGE) {
                    int length = in.readRawVarint32();
                    int remaining = remaining(in, total);
                    if (length < 0) {
                        throw new Found(fieldPath, "declares a negative length " + length);
                    }
                    // NOTE: a message cut short is walked as far as it goes first: the innermost
                    // field the cut falls in (graph.initializer[2].raw_data) says more than "graph".
                    int old = in.pushLimit(Math.min(length, remaining));
                    walk(in, total, field.getMessageType(), fieldPath, depth + 1);
                    in.popLimit(old);
                    if (length > remaining) {
                        throw new Found(fieldPath, "declares " + length + " bytes but only " + remaining
                                + " remain (truncated?)");
                    }
                } else if (field != null && field.getType() == FieldDescriptor.Type.STRING) {
                    in.readStringRequireUtf8();
                } else if (!in.skipField(tag)) {
                    throw new Found(fieldPath, "unexpected end-group tag");
                }
            } catch (IOException e) {
                throw new Found(fieldPath, describe(e));
            }
        }
    }

    /** Bytes left before the current limit or the end of the buffer, whichever comes first. */
    private static int remaining(CodedInputStream in, int total) {
        int toEnd = total - in.getTotalBytesRead();
        int toLimit = in.getBytesUntilLimit();
        return toLimit < 0 ? toEnd : Math.min(toLimit, toEnd);
    }

    private static boolean wireTypeFits(FieldDescriptor field, int wire) {
        int expected = field.getLiteType().getWireType();
        if (wire == expected) {
            return true;
        }
        // Repeated scalars may come packed (length-delimited) or one by one.
        return field.isRepeated() && field.getLiteType().isPackable()
                && (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED || wire == expected);
    }

    private static String wireName(int wire) {
        return switch (wire) {
            case WireFormat.WIRETYPE_VARINT -> "varint";
            case WireFormat.WIRETYPE_FIXED64 -> "fixed64";
            case WireFormat.WIRETYPE_LENGTH_DELIMITED -> "length-delimited";
            case WireFormat.WIRETYPE_START_GROUP -> "start-group";
            case WireFormat.WIRETYPE_END_GROUP -> "end-group";
            case WireFormat.WIRETYPE_FIXED32 -> "fixed32";
            default -> "invalid (" + wire + ")";
        };
    }

    private static String describe(IOException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (m.contains("truncated") || m.contains("ended unexpectedly")) {
            return "truncated: the file ends inside this field";
        }
        if (m.contains("UTF-8")) {
            return "string is not valid UTF-8";
        }
        return m;
    }
}
