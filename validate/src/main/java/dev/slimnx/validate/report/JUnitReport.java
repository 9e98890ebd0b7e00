package dev.slimnx.validate.report;

/**
 * The report as JUnit XML, the format CI systems show as tests: one test case per gate, a
 * failure element carrying the gate's message when it failed. With no gates, a single case
 * records that the validation ran.
 */
public final class JUnitReport {
    private JUnitReport() {
    }

    /**
     * @param r the report
     * @return JUnit XML
     */
    public static String render(ValidationReport r) {
        long failures = r.gates().stream().filter(g -> !g.passed()).count();
        int cases = Math.max(1, r.gates().size());
        StringBuilder s = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.append("<testsuite name=\"slimnx.validate\" tests=\"").append(cases).append("\" failures=\"").append(failures)
                .append("\" errors=\"0\" skipped=\"0\" timestamp=\"").append(esc(r.created())).append("\">\n");
        s.append("  <properties>\n");
        prop(s, "baseline", r.baseline().file());
        prop(s, "candidate", r.candidate().file());
        prop(s, "data", r.data().source());
        prop(s, "provider", r.runtime().provider());
        s.append("  </properties>\n");
        if (r.gates().isEmpty()) {
            s.append("  <testcase classname=\"slimnx.validate\" name=\"validation ran\"/>\n");
        }
        for (var g : r.gates()) {
            s.append("  <testcase classname=\"slimnx.validate.gates\" name=\"").append(esc(g.expression())).append('"');
            if (g.passed()) {
                s.append("/>\n");
            } else {
                s.append(">\n    <failure message=\"").append(esc(g.message())).append("\" type=\"GateFailed\">")
                        .append(esc(g.message())).append("</failure>\n  </testcase>\n");
            }
        }
        return s.append("</testsuite>\n").toString();
    }

    private static void prop(StringBuilder s, String name, String value) {
        s.append("    <property name=\"").append(name).append("\" value=\"").append(esc(value == null ? "" : value)).append("\"/>\n");
    }

    static String esc(String v) {
        StringBuilder out = new StringBuilder(v.length());
        for (char c : v.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> {
                    if (c >= 0x20 || c == '\n' || c == '\t' || c == '\r') {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
