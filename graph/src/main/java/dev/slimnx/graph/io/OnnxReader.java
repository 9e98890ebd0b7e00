package dev.slimnx.graph.io;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.ModelFormatException;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads ONNX files into the IR.
 *
 * <p>The file is memory-mapped and parsed with aliasing, so initializer bytes are views into the
 * mapping rather than copies: loading a 300 MB model allocates little more than its graph
 * structure. External data is checked at load (location inside the model's folder, region inside
 * the file) and mapped only when read. Every problem is reported as a {@link ModelFormatException}
 * naming the file and the field path.
 */
public final class OnnxReader {
    /** Deepest message nesting accepted; far beyond any real model, small enough to avoid stack exhaustion. */
    static final int RECURSION_LIMIT = 200;

    private OnnxReader() {
    }

    /**
     * @param file an ONNX file
     * @return the model; its external data, if any, resolves against the file's folder
     * @throws ModelFormatException if the file is not a valid model or breaks a safety rule
     * @throws IOException if the file cannot be read
     */
    public static Model read(Path file) throws IOException {
        Path absolute = file.toAbsolutePath();
        if (!Files.isRegularFile(absolute)) {
            throw new ModelFormatException(file, "", Files.exists(absolute) ? "not a regular file" : "no such file");
        }
        ByteBuffer mapped;
        try (FileChannel ch = FileChannel.open(absolute, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new ModelFormatException(file, "", "is " + size + " bytes; a protobuf message cannot exceed 2 GB"
                        + " (large weights belong in external data)");
            }
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        Model model = read(mapped, file, absolute.getParent());
        model.setSource(file);
        return model;
    }

    /**
     * Reads a model held in memory. Models with external data cannot be read this way.
     *
     * @param bytes the serialized model (not copied; must not change afterwards)
     * @param name what to call it in messages
     * @return the model
     * @throws ModelFormatException if the bytes are not a valid model
     */
    public static Model read(byte[] bytes, String name) throws ModelFormatException {
        return read(ByteBuffer.wrap(bytes), Path.of(name), null);
    }

    /**
     * Reads one serialized {@code TensorProto} (as in the ONNX test data's {@code input_0.pb}).
     *
     * @param file the file
     * @return the tensor; external data resolves against the file's folder
     * @throws ModelFormatException if the file is not a valid tensor
     * @throws IOException if it cannot be read
     */
    public static dev.slimnx.graph.tensor.Tensor readTensor(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        dev.slimnx.graph.io.proto.OnnxProto.TensorProto proto;
        try {
            proto = dev.slimnx.graph.io.proto.OnnxProto.TensorProto.parseFrom(bytes);
        } catch (IOException e) {
            throw new ModelFormatException(file, "", "not a TensorProto (" + e.getMessage() + ")");
        }
        return new ProtoToIr(file, file.toAbsolutePath().getParent()).tensor(proto, "");
    }

    private static Model read(ByteBuffer buffer, Path file, Path baseDir) throws ModelFormatException {
        ModelProto proto = parse(buffer, file);
        return new ProtoToIr(file, baseDir).model(proto);
    }

    /**
     * @param buffer serialized model
     * @param file for messages
     * @return the parsed message, sharing bytes with the buffer
     * @throws ModelFormatException naming the innermost field where parsing failed
     */
    static ModelProto parse(ByteBuffer buffer, Path file) throws ModelFormatException {
        try {
            // NOTE: CodedInputStream.newInstance(ByteBuffer) treats the buffer as mutable and copies
            // every bytes field; a wrapped ByteString yields a decoder that knows the bytes are
            // immutable, so with aliasing on, raw_data becomes a view into the mapping.
            CodedInputStream in = UnsafeByteOperations.unsafeWrap(buffer.duplicate()).newCodedInput();
            in.enableAliasing(true);
            in.setSizeLimit(Integer.MAX_VALUE);
            in.setRecursionLimit(RECURSION_LIMIT);
            ModelProto proto = ModelProto.parseFrom(in);
            return proto;
        } catch (IOException | RuntimeException e) {
            WireLocator.Failure where = WireLocator.locate(buffer.duplicate());
            String problem = where != null ? where.problem() : "not a protobuf ModelProto (" + e.getMessage() + ")";
            throw new ModelFormatException(file, where != null ? where.path() : "", problem);
        }
    }
}
