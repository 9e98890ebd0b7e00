package dev.slimnx.validate.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimnx.validate.gate.Gate;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class ReportsTest {
    @TempDir
    Path dir;

    static ValidationReport sample() {
        var base = new ModelFacts("base.onnx", 4000, 1000, 50_000, 12, Map.of("MatMul", 4));
        var cand = new ModelFacts("cand.onnx", 1000, 1000, 25_000, 10, Map.of("MatMul", 2, "Gemm", 1));
        var acc = new ValidationReport.Accuracy("logits", 2, 0.90, 0.88, 0.99, 0.985, 0.95, -0.02,
                new double[] {-0.03, -0.01}, new double[] {0.9, 0.9}, new double[] {0.88, Double.NaN});
        var out = List.of(new ValidationReport.OutputError("logits", 0.5, 0.01, 0.999, 31.5, false));
        var t = new ValidationReport.Timing(3, 2.0, 2.0, 2.5, 2.9, 500, new double[] {1.8, 2.0, 2.2});
        var t2 = new ValidationReport.Timing(3, 1.0, 1.0, 1.2, 1.3, 1000, new double[] {0.9, 1.0, 1.1});
        var lat = List.of(new ValidationReport.LatencyFacts(1, t, t2, 2.0, new double[] {1.8, 2.2}, 2.0, "faster", 1e-6));
        var r = new ValidationReport(ValidationReport.SCHEMA, "2026-11-24T12:00:00Z", base, cand,
                new ValidationReport.RuntimeFacts("cpu", 2, "all", "1.23.2"),
                new ValidationReport.DataFacts("data/test <set>", 1000, true), acc, List.of(acc), null, out, lat, List.of(), true);
        return r.withGates(List.of(Gate.parse("top1_drop <= 2.5").evaluate(r.gateFields()),
                Gate.parse("p50_speedup >= 1.5").evaluate(r.gateFields()),
                Gate.parse("size_ratio <= 0.2").evaluate(r.gateFields())));
    }

    @Test
    void gateFieldsAreFlattenedWithDocumentedUnits() {
        Map<String, Double> f = sample().gateFields();
        assertEquals(2.0, f.get("top1_drop"), 1e-9, "points, baseline minus candidate");
        assertEquals(0.25, f.get("size_ratio"));
        assertEquals(0.5, f.get("macs_ratio"));
        assertEquals(2.0, f.get("p50_speedup"));
        assertEquals(2.0, f.get("p50_speedup@1"));
        assertEquals(31.5, f.get("sqnr_db_min"));
    }

    @Test
    void gatesDecideTheVerdict() {
        ValidationReport r = sample();
        assertFalse(r.passed(), "size_ratio 0.25 misses <= 0.2");
        assertEquals(3, r.gates().size());
        assertTrue(r.gates().get(0).passed());
        assertFalse(r.gates().get(2).passed());
    }

    @Test
    void jsonIsTheSourceOfTruthWithSnakeCaseNames() throws Exception {
        Path f = dir.resolve("r.json");
        Reports.write(sample(), f);
        JsonNode j = new ObjectMapper().readTree(f.toFile());
        assertEquals("slimnx.validate/1", j.path("schema").asText());
        assertEquals(0.88, j.path("accuracy").path("candidate_top1").asDouble());
        assertEquals(-0.03, j.path("accuracy").path("top1_diff_ci95").get(0).asDouble());
        assertEquals("faster", j.path("latency").get(0).path("verdict").asText());
        assertEquals(false, j.path("passed").asBoolean());
        assertEquals("NaN", j.path("accuracy").path("per_class_candidate").get(1).asText());
    }

    @Test
    void markdownHtmlAndJunitRender() throws Exception {
        ValidationReport r = sample();
        String md = MarkdownReport.render(r);
        assertTrue(md.startsWith("# slimnx validation: FAILED"), md);
        assertTrue(md.contains("| top-1 | 90.00% | 88.00% | -2.00 points (95% CI -3.00 to -1.00) |"), md);
        assertTrue(md.contains("❌ size_ratio <= 0.2: FAILED (size_ratio = 0.2500, misses by 0.05000)"), md);
        assertTrue(md.contains("Op changes: `Gemm` +1, `MatMul` -2"), md);

        String html = HtmlReport.render(r);
        assertTrue(html.contains("<svg"), "charts are inline SVG");
        assertFalse(html.contains("<script"), "no scripts");
        assertFalse(html.replace("http://www.w3.org/2000/svg", "").contains("http"), "no network references");
        assertTrue(html.contains("data/test &lt;set&gt;"), "text is escaped");

        Document xml = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(JUnitReport.render(r).getBytes(StandardCharsets.UTF_8)));
        assertEquals("3", xml.getDocumentElement().getAttribute("tests"));
        assertEquals("1", xml.getDocumentElement().getAttribute("failures"));
        assertEquals(1, xml.getElementsByTagName("failure").getLength());
    }

    @Test
    void unknownReportExtensionIsRefusedAndNothingWritten() {
        Path f = dir.resolve("report.pdf");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Reports.write(sample(), f));
        assertTrue(e.getMessage().contains("use .json, .md, .html or .xml"), e.getMessage());
        assertFalse(Files.exists(f));
    }
}
