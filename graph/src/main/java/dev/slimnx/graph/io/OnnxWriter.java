package dev.slimnx.graph.io;

import com.google.protobuf.CodedOutputStream;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import dev.slimnx.graph.tensor.ExternalLocation;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorData;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the IR as ONNX. Files are written to temporary files in the target folder and moved into
 * place only when complete, so a failure never leaves a half-written model. Weights are streamed
 * from wherever they live (usually the memory-mapped input) without being copied into the heap.
 */
public final class OnnxWriter {
    /** Protobuf's hard limit, less headroom for the graph structure around the weights. */
    static final long MAX_INLINE_BYTES = Integer.MAX_VALUE - (64L << 20);

    private OnnxWriter() {
    }

    /**
     * What was written.
     *
     * @param model the model file
     * @param dataFile the new external data file, or null
     * @param modelBytes size of the model file
     * @param externalBytes size of the new external data file
     * @param forcedExternal true if data went external because the model would exceed 2 GB
     */
    public record Result(Path model, Path dataFile, long modelBytes, long externalBytes, boolean forcedExternal) {
    }

    /**
     * Writes a model keeping its data layout.
     *
     * @param model the model
     * @param out target file
     * @return what was written
     * @throws IOException on failure; nothing is left at {@code out} that was not there before
     */
    public static Result write(Model model, Path out) throws IOException {
        return write(model, out, ExternalDataPolicy.keep());
    }

    /**
     * @param model the model
     * @param out target file
     * @param policy where tensor data goes; models over 2 GB always get external data
     * @return what was written
     * @throws IOException on failure; nothing is left at {@code out} that was not there before
     */
    public static Result write(Model model, Path out, ExternalDataPolicy policy) throws IOException {
        return write(model, out, policy, MAX_INLINE_BYTES);
    }

    /**
     * @param maxInlineBytes tensor bytes above which data is forced external; {@link #MAX_INLINE_BYTES}
     *     except in tests, which cannot afford 2 GB models
     */
    static Result write(Model model, Path out, ExternalDataPolicy policy, long maxInlineBytes) throws IOException {
        try {
            return writeChecked(model, out, policy, maxInlineBytes);
        } catch (java.io.UncheckedIOException e) {
            // External data read lazily (a data file deleted or cut since the model was read).
            throw e.getCause();
        }
    }

    private static Result writeChecked(Model model, Path out, ExternalDataPolicy policy, long maxInlineBytes)
            throws IOException {
        Path target = out.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        boolean forced = false;
        if (policy.mode() != ExternalDataPolicy.Mode.EXTERNALIZE && inlineBytes(model, policy) > maxInlineBytes) {
            policy = ExternalDataPolicy.externalize(ExternalDataPolicy.DEFAULT_THRESHOLD, "");
            forced = true;
        }
        if (policy.mode() == ExternalDataPolicy.Mode.EXTERNALIZE && policy.location().isEmpty()) {
            policy = ExternalDataPolicy.externalize(policy.sizeThreshold(), target.getFileName() + ".data");
        }
        if (policy.mode() == ExternalDataPolicy.Mode.EXTERNALIZE && policy.location().matches(".*[/\\\\].*|\\.\\.?")) {
            throw new IllegalArgumentException("external data file name must be a plain file name: " + policy.location());
        }
        IrToProto converter = new IrToProto(policy);
        ModelProto proto = converter.model(model);

        List<Path> temps = new ArrayList<>();
        Map<Path, Path> moves = new LinkedHashMap<>();
        try {
            Path dataFile = null;
            if (!converter.placements().isEmpty()) {
                dataFile = dir.resolve(policy.location());
                Path tmp = temp(dataFile, temps);
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    for (IrToProto.Placement p : converter.placements()) {
                        writeFully(ch, p.tensor().rawBytes(), p.offset());
                    }
                }
                moves.put(tmp, dataFile);
            }
            copyKeptExternal(converter.keptExternal(), dir, temps, moves);
            Path tmpModel = temp(target, temps);
            try (OutputStream os = Channels.newOutputStream(FileChannel.open(tmpModel, StandardOpenOption.WRITE))) {
                CodedOutputStream cos = CodedOutputStream.newInstance(os, 1 << 16);
                proto.writeTo(cos);
                cos.flush();
            }
            moves.put(tmpModel, target);
            // Data files move first, so a model in place always finds its data. If a later move
            // fails, files this write created are removed again (files it replaced cannot be).
            List<Path> created = new ArrayList<>();
            try {
                for (Map.Entry<Path, Path> e : moves.entrySet()) {
                    boolean existed = Files.exists(e.getValue(), java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    AtomicFiles.move(e.getKey(), e.getValue());
                    temps.remove(e.getKey());
                    if (!existed) {
                        created.add(e.getValue());
                    }
                }
            } catch (IOException | RuntimeException e) {
                for (Path p : created) {
                    Files.deleteIfExists(p);
                }
                throw e;
            }
            return new Result(target, dataFile, Files.size(target), dataFile == null ? 0 : Files.size(dataFile), forced);
        } finally {
            for (Path t : temps) {
                Files.deleteIfExists(t);
            }
        }
    }

    /**
     * Serializes a model into memory with every tensor inline, for ONNX Runtime sessions.
     *
     * @param model the model
     * @return the bytes
     * @throws IllegalStateException if the model is over 2 GB
     */
    public static byte[] toBytes(Model model) {
        if (inlineBytes(model, ExternalDataPolicy.inline()) > MAX_INLINE_BYTES) {
            throw new IllegalStateException("model is over 2 GB and cannot be serialized into memory; write it to a file");
        }
        return new IrToProto(ExternalDataPolicy.inline()).model(model).toByteArray();
    }

    /**
     * @param model the model
     * @return the protobuf message, all data inline; for tests and tools in this package
     */
    static ModelProto toProto(Model model, ExternalDataPolicy policy) {
        return new IrToProto(policy).model(model);
    }

    /** Bytes of tensor data that would sit inside the model file under {@code policy}. */
    private static long inlineBytes(Model model, ExternalDataPolicy policy) {
        long total = 0;
        List<Graph> graphs = new ArrayList<>();
        graphs.add(model.graph());
        for (var f : model.functions()) {
            graphs.add(f.body());
        }
        while (!graphs.isEmpty()) {
            Graph g = graphs.removeLast();
            for (Value v : g.initializers()) {
                total += inlineSize(v.initializer(), policy);
            }
            for (Node n : g.nodes()) {
                graphs.addAll(n.subgraphs());
                for (var a : n.attributes()) {
                    if (a.value() instanceof Tensor t) {
                        total += inlineSize(t, policy);
                    }
                }
            }
        }
        return total;
    }

    private static long inlineSize(Tensor t, ExternalDataPolicy policy) {
        if (t.isExternal() && policy.mode() == ExternalDataPolicy.Mode.KEEP) {
            return 0;
        }
        return t.byteSize();
    }

    /**
     * Tensors kept external must find their data next to the new model. When the model is written
     * into another folder the regions are copied there at the same offsets, so every
     * {@code external_data} entry stays valid as it is.
     */
    private static void copyKeptExternal(List<Tensor> kept, Path dir, List<Path> temps, Map<Path, Path> moves)
            throws IOException {
        Map<Path, List<ExternalLocation>> byTarget = new LinkedHashMap<>();
        for (Tensor t : kept) {
            ExternalLocation loc = ((TensorData.External) t.data()).location();
            Path dest = dir.resolve(loc.location()).normalize();
            if (Files.exists(dest) && Files.isSameFile(dest, loc.file())) {
                continue; // already in place: the data file the model was read with
            }
            byTarget.computeIfAbsent(dest, k -> new ArrayList<>()).add(loc);
        }
        for (Map.Entry<Path, List<ExternalLocation>> e : byTarget.entrySet()) {
            Files.createDirectories(e.getKey().getParent());
            Path tmp = temp(e.getKey(), temps);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                for (ExternalLocation loc : e.getValue()) {
                    writeFully(ch, loc.bytes(), loc.offset());
                }
            }
            moves.put(tmp, e.getKey());
        }
    }

    private static Path temp(Path target, List<Path> temps) throws IOException {
        Path tmp = AtomicFiles.temp(target);
        temps.add(tmp);
        return tmp;
    }

    private static void writeFully(FileChannel ch, ByteBuffer data, long position) throws IOException {
        ByteBuffer b = data.duplicate();
        long pos = position;
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
    }
}
