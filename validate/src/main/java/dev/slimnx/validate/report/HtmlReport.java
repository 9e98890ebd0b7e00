package dev.slimnx.validate.report;

import java.util.Arrays;
import java.util.Locale;

/**
 * The report as one self-contained HTML page: the Markdown tables as HTML plus inline SVG charts
 * (accuracy bars, per-class accuracy, latency distributions as box plots). No scripts, no network.
 */
public final class HtmlReport {
    private static final String BASE = "#4e79a7";
    private static final String CAND = "#f28e2b";

    private HtmlReport() {
    }

    /**
     * @param r the report
     * @return HTML text
     */
    public static String render(ValidationReport r) {
        StringBuilder s = new StringBuilder();
        s.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>slimnx validation</title>\n<style>")
                .append("body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}")
                .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}")
                .append("th:first-child,td:first-child{text-align:left}.pass{color:#2a7a2a}.fail{color:#b22}")
                .append(".legend span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;vertical-align:middle}")
                .append("</style></head><body>\n");
        s.append("<h1>slimnx validation: <span class=\"").append(r.passed() ? "pass\">PASSED" : "fail\">FAILED").append("</span></h1>\n");
        s.append("<p>baseline <code>").append(esc(r.baseline().file())).append("</code> vs candidate <code>")
                .append(esc(r.candidate().file())).append("</code>; ").append(r.data().items()).append(" items from <code>")
                .append(esc(r.data().source())).append("</code>; ").append(esc(r.runtime().provider())).append(", ")
                .append(r.runtime().threads()).append(" thread(s), ONNX Runtime ").append(esc(r.runtime().onnxruntime()))
                .append("; ").append(esc(r.created())).append("</p>\n");
        s.append("<p class=\"legend\"><span style=\"background:").append(BASE).append("\"></span>baseline<span style=\"background:")
                .append(CAND).append("\"></span>candidate</p>\n");
        // The Markdown tables, as HTML.
        s.append(tablesFromMarkdown(MarkdownReport.render(r)));
        if (r.accuracy() != null && !Double.isNaN(r.accuracy().baselineTop1())) {
            var a = r.accuracy();
            s.append("<h2>Accuracy</h2>\n").append(bars(new String[] {"top-1", "top-5"},
                    new double[] {a.baselineTop1(), a.baselineTop5()}, new double[] {a.candidateTop1(), a.candidateTop5()}));
            String[] labels = new String[a.classes()];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = Integer.toString(i);
            }
            s.append("<h2>Per-class top-1</h2>\n").append(bars(labels, a.perClassBaseline(), a.perClassCandidate()));
        }
        if (!r.latency().isEmpty()) {
            s.append("<h2>Latency distributions</h2>\n");
            for (var l : r.latency()) {
                s.append("<h3>batch ").append(l.batch()).append(": ").append(esc(l.verdict())).append("</h3>\n")
                        .append(boxes(l.baseline().samplesMs(), l.candidate().samplesMs()));
            }
        }
        return s.append("</body></html>\n").toString();
    }

    /** Grouped vertical bars of fractions in [0, 1], baseline and candidate side by side. */
    static String bars(String[] labels, double[] base, double[] cand) {
        int group = 44;
        int w = 40 + labels.length * group;
        int h = 200;
        StringBuilder s = new StringBuilder();
        // The plot is drawn 10 px down so the top axis label is not cut off.
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">"
                + "<g transform=\"translate(0,10)\">", w, h + 40));
        for (int t = 0; t <= 4; t++) {
            double y = h - t * h / 4.0;
            s.append(String.format(Locale.ROOT, "<line x1=\"30\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                    + "<text x=\"0\" y=\"%.1f\" font-size=\"10\">%d%%</text>", w, y, y, y + 3, t * 25));
        }
        for (int i = 0; i < labels.length; i++) {
            double x = 36 + i * group;
            s.append(bar(x, base[i], h, BASE)).append(bar(x + 18, cand[i], h, CAND));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>", x + 8, h + 16, esc(labels[i])));
        }
        return s.append("</g></svg>\n").toString();
    }

    private static String bar(double x, double v, int h, String color) {
        double value = Double.isNaN(v) ? 0 : Math.max(0, Math.min(1, v));
        double bh = value * h;
        return String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"%.1f\" fill=\"%s\">"
                + "<title>%s</title></rect>", x, h - bh, bh, color, Double.isNaN(v) ? "n/a" : Numbers.pct(v));
    }

    /** Horizontal box plots (min, p25, median, p75, max) of two latency samples on one axis. */
    static String boxes(double[] base, double[] cand) {
        double lo = Math.min(min(base), min(cand));
        double hi = Math.max(max(base), max(cand));
        if (!(hi > lo)) {
            hi = lo + 1;
        }
        int w = 600;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"110\" role=\"img\">", w + 60));
        s.append(box(base, lo, hi, w, 10, BASE)).append(box(cand, lo, hi, w, 50, CAND));
        s.append(String.format(Locale.ROOT, "<text x=\"0\" y=\"105\" font-size=\"10\">%.3f ms</text>"
                + "<text x=\"%d\" y=\"105\" font-size=\"10\">%.3f ms</text>", lo, w - 20, hi));
        return s.append("</svg>\n").toString();
    }

    private static String box(double[] samples, double lo, double hi, int w, int y, String color) {
        if (samples == null || samples.length == 0) {
            return "";
        }
        double[] v = samples.clone();
        Arrays.sort(v);
        double scale = w / (hi - lo);
        double q1 = v[(int) Math.floor(0.25 * (v.length - 1))];
        double med = v[(int) Math.floor(0.5 * (v.length - 1))];
        double q3 = v[(int) Math.floor(0.75 * (v.length - 1))];
        double x0 = (v[0] - lo) * scale;
        double x1 = (v[v.length - 1] - lo) * scale;
        return String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"%s\"/>"
                        + "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"30\" fill=\"%s\" fill-opacity=\"0.5\" stroke=\"%s\"/>"
                        + "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#000\" stroke-width=\"2\"><title>median %.3f ms</title></line>",
                x0, x1, y + 15, y + 15, color, (q1 - lo) * scale, y, Math.max(1, (q3 - q1) * scale), color, color,
                (med - lo) * scale, (med - lo) * scale, y, y + 30, med);
    }

    private static double min(double[] v) {
        return v == null || v.length == 0 ? Double.POSITIVE_INFINITY : Arrays.stream(v).min().getAsDouble();
    }

    private static double max(double[] v) {
        return v == null || v.length == 0 ? Double.NEGATIVE_INFINITY : Arrays.stream(v).max().getAsDouble();
    }

    /** Turns the Markdown report's tables and gate list into HTML (a tiny, purpose-built subset). */
    static String tablesFromMarkdown(String md) {
        StringBuilder s = new StringBuilder();
        boolean inTable = false;
        boolean inList = false;
        for (String line : md.split("\n")) {
            if (line.startsWith("|")) {
                String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
                if (cells[0].strip().startsWith("---") || cells[0].strip().startsWith(":--")) {
                    continue;
                }
                if (!inTable) {
                    s.append("<table>");
                    inTable = true;
                    s.append("<tr>");
                    for (String c : cells) {
                        s.append("<th>").append(inline(c.strip())).append("</th>");
                    }
                    s.append("</tr>\n");
                    continue;
                }
                s.append("<tr>");
                for (String c : cells) {
                    s.append("<td>").append(inline(c.strip())).append("</td>");
                }
                s.append("</tr>\n");
            } else {
                if (inTable) {
                    s.append("</table>\n");
                    inTable = false;
                }
                if (line.startsWith("- ")) {
                    if (!inList) {
                        s.append("<ul>");
                        inList = true;
                    }
                    String item = line.substring(2);
                    boolean pass = item.startsWith("✅");
                    // The colour carries pass/fail; emoji need a font a headless viewer may lack.
                    item = item.replaceFirst("^(✅|❌) ", "");
                    s.append("<li class=\"").append(pass ? "pass" : "fail").append("\">").append(inline(item)).append("</li>\n");
                } else if (inList) {
                    s.append("</ul>\n");
                    inList = false;
                }
                // Plain paragraphs; the title and the run summary are rendered above, from the report.
                if (!line.isBlank() && !line.startsWith("- ") && !line.startsWith("#") && !line.startsWith("baseline `")) {
                    s.append("<p>").append(inline(line)).append("</p>\n");
                }
            }
        }
        if (inTable) {
            s.append("</table>\n");
        }
        if (inList) {
            s.append("</ul>\n");
        }
        return s.toString();
    }

    private static String inline(String text) {
        return esc(text).replaceAll("`([^`]*)`", "<code>$1</code>");
    }

    static String esc(String v) {
        if (v == null) {
            return "";
        }
        return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
