package dev.slimnx.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The registry of reference models, read from {@code manifest.json}.
 *
 * <p>Found, in order: the folder named by the system property {@code slimnx.reference.dir} or the
 * environment variable {@code SLIMNX_REFERENCE_DIR}; a {@code reference-models} folder above the
 * running code or the working directory (a checkout); the copy packed into the slimnx jar, which is
 * extracted once into {@code ~/.cache/slimnx}.
 */
public final class ReferenceModels {
    /** Name of the manifest file. */
    public static final String MANIFEST = "manifest.json";
    private static final String RESOURCE_ROOT = "slimnx-reference/";

    private final Path dir;
    private final Map<String, ReferenceModel> models;
    private final JsonNode dataset;

    private ReferenceModels(Path dir, Map<String, ReferenceModel> models, JsonNode dataset) {
        this.dir = dir;
        this.models = models;
        this.dataset = dataset;
    }

    /**
     * @return the registry found as the class comment says
     * @throws IOException if no manifest can be found or read
     */
    public static ReferenceModels locate() throws IOException {
        String configured = System.getProperty("slimnx.reference.dir", System.getenv("SLIMNX_REFERENCE_DIR"));
        if (configured != null && !configured.isBlank()) {
            return load(Path.of(configured));
        }
        for (Path start : startingPoints()) {
            for (Path p = start; p != null; p = p.getParent()) {
                if (Files.isRegularFile(p.resolve("reference-models").resolve(MANIFEST))) {
                    return load(p.resolve("reference-models"));
                }
            }
        }
        return extractFromJar();
    }

    private static List<Path> startingPoints() {
        List<Path> out = new ArrayList<>();
        try {
            var src = ReferenceModels.class.getProtectionDomain().getCodeSource();
            if (src != null) {
                out.add(Path.of(src.getLocation().toURI()).toAbsolutePath());
            }
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            // not a file location: fall through to the working directory
        }
        out.add(Path.of("").toAbsolutePath());
        return out;
    }

    /**
     * @param dir a folder holding {@code manifest.json}
     * @return the registry
     * @throws IOException if the manifest is missing or malformed
     */
    public static ReferenceModels load(Path dir) throws IOException {
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            throw new IOException(manifest + ": no reference-model manifest here");
        }
        JsonNode root = new ObjectMapper().readTree(manifest.toFile());
        Map<String, ReferenceModel> models = new LinkedHashMap<>();
        for (JsonNode m : root.path("models")) {
            ReferenceModel model = ManifestParser.model(dir, m, manifest);
            models.put(model.name(), model);
        }
        return new ReferenceModels(dir.toAbsolutePath(), models, root.path("dataset"));
    }

    private static ReferenceModels extractFromJar() throws IOException {
        ClassLoader cl = ReferenceModels.class.getClassLoader();
        byte[] manifest;
        try (InputStream in = cl.getResourceAsStream(RESOURCE_ROOT + MANIFEST)) {
            if (in == null) {
                throw new IOException("no reference models found: not in a slimnx checkout, and this slimnx build"
                        + " carries none; set SLIMNX_REFERENCE_DIR to a folder holding " + MANIFEST);
            }
            manifest = in.readAllBytes();
        }
        String id = HexFormat.of().formatHex(sha256(manifest)).substring(0, 16);
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "slimnx", "reference-" + id);
        if (!Files.isRegularFile(cache.resolve(MANIFEST))) {
            Path tmp = Files.createTempDirectory(cache.getParent() == null ? Path.of(".") : createParent(cache), "extract");
            JsonNode root = new ObjectMapper().readTree(manifest);
            List<String> files = new ArrayList<>();
            for (JsonNode m : root.path("models")) {
                files.add(m.path("file").asText());
            }
            for (Iterator<JsonNode> it = root.path("dataset").elements(); it.hasNext(); ) {
                JsonNode f = it.next();
                if (f.isTextual() && f.asText().startsWith("data/")) {
                    files.add(f.asText());
                }
            }
            for (String f : files) {
                try (InputStream in = cl.getResourceAsStream(RESOURCE_ROOT + f)) {
                    if (in == null) {
                        throw new IOException("this slimnx build lacks the reference file " + f);
                    }
                    Path target = tmp.resolve(f);
                    Files.createDirectories(target.getParent());
                    Files.copy(in, target);
                }
            }
            Files.write(tmp.resolve(MANIFEST), manifest);
            try {
                Files.move(tmp, cache, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isRegularFile(cache.resolve(MANIFEST))) {
                    throw e; // another process did not win the race either
                }
            }
        }
        return load(cache);
    }

    private static Path createParent(Path cache) throws IOException {
        return Files.createDirectories(cache.getParent());
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * @param file a file
     * @return its SHA-256, hex
     * @throws IOException if it cannot be read
     */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return the folder holding the manifest */
    public Path dir() {
        return dir;
    }

    /** @return every model, in manifest order */
    public List<ReferenceModel> all() {
        return List.copyOf(models.values());
    }

    /**
     * @param name model name
     * @return the model, if the manifest has it
     */
    public Optional<ReferenceModel> find(String name) {
        return Optional.ofNullable(models.get(name));
    }

    /**
     * @param name model name
     * @return the model
     * @throws IllegalArgumentException naming the known models if there is none of that name
     */
    public ReferenceModel get(String name) {
        ReferenceModel m = models.get(name);
        if (m == null) {
            throw new IllegalArgumentException("no reference model '" + name + "'; known: " + String.join(", ", models.keySet()));
        }
        return m;
    }

    /**
     * @param file any model file
     * @return the reference model whose SHA-256 the file has, if any
     * @throws IOException if the file cannot be read
     */
    public Optional<ReferenceModel> identify(Path file) throws IOException {
        String sha = sha256(file);
        return models.values().stream().filter(m -> m.sha256().equals(sha)).findFirst();
    }

    /**
     * @param key a key of the manifest's {@code dataset} object, e.g. {@code test_images}
     * @return the file it names, resolved against the manifest folder
     * @throws IllegalArgumentException if the manifest has no such entry
     */
    public Path dataFile(String key) {
        JsonNode f = dataset.path(key);
        if (!f.isTextual()) {
            throw new IllegalArgumentException("the reference manifest has no dataset entry '" + key + "'");
        }
        return dir.resolve(f.asText());
    }
}
