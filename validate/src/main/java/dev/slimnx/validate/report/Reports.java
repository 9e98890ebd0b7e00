package dev.slimnx.validate.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.slimnx.graph.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Writes a report in the format its file name asks for: {@code .json}, {@code .md},
 * {@code .html} or {@code .xml} (JUnit). Files are written to a temporary file and moved into place.
 */
public final class Reports {
    private Reports() {
    }

    /** @return the JSON mapper of reports: snake_case names, indented */
    public static ObjectMapper json() {
        return new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
    }

    /**
     * @param report the report
     * @return it as JSON
     */
    public static String toJson(ValidationReport report) {
        try {
            return json().writeValueAsString(report);
        } catch (IOException e) {
            throw new IllegalStateException("report does not serialize: " + e.getMessage(), e);
        }
    }

    /**
     * @param file a report path
     * @return the format name, or null for an unknown extension
     */
    public static String formatOf(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".json")) {
            return "json";
        }
        if (n.endsWith(".md") || n.endsWith(".markdown")) {
            return "markdown";
        }
        if (n.endsWith(".html") || n.endsWith(".htm")) {
            return "html";
        }
        if (n.endsWith(".xml")) {
            return "junit";
        }
        return null;
    }

    /**
     * @param report the report
     * @param file where to write it; the extension picks the format
     * @throws IOException if it cannot be written
     * @throws IllegalArgumentException for an unknown extension
     */
    public static void write(ValidationReport report, Path file) throws IOException {
        String format = formatOf(file);
        if (format == null) {
            throw new IllegalArgumentException(file + ": unknown report format; use .json, .md, .html or .xml (JUnit)");
        }
        String text = switch (format) {
            case "json" -> toJson(report);
            case "markdown" -> MarkdownReport.render(report);
            case "html" -> HtmlReport.render(report);
            default -> JUnitReport.render(report);
        };
        AtomicFiles.write(file, tmp -> Files.writeString(tmp, text, StandardCharsets.UTF_8));
    }
}
