package dev.slimnx.validate.report;

import java.util.List;

/** The report as Markdown: tables a person reads in a terminal or a pull request. */
public final class MarkdownReport {
    private MarkdownReport() {
    }

    /**
     * @param r the report
     * @return Markdown text
     */
    public static String render(ValidationReport r) {
        StringBuilder s = new StringBuilder();
        s.append("# slimnx validation: ").append(r.passed() ? "PASSED" : "FAILED").append("\n\n");
        s.append("baseline `").append(r.baseline().file()).append("` vs candidate `").append(r.candidate().file())
                .append("`, ").append(r.data().items()).append(" items from `").append(r.data().source()).append("`, ")
                .append(r.runtime().provider()).append(", ").append(r.runtime().threads()).append(" thread(s), ORT ")
                .append(r.runtime().onnxruntime()).append("\n\n");
        s.append("| model | size | params | MACs | nodes |\n| --- | ---: | ---: | ---: | ---: |\n");
        model(s, "baseline", r.baseline());
        model(s, "candidate", r.candidate());
        var f = r.gateFields();
        s.append("| ratio | ").append(Numbers.ratio(f.get("size_ratio"))).append(" | ")
                .append(Numbers.ratio(f.get("params_ratio"))).append(" | ").append(Numbers.ratio(f.get("macs_ratio")))
                .append(" | |\n\n");
        var deltas = r.opDeltas();
        if (!deltas.isEmpty()) {
            s.append("Op changes: ");
            deltas.forEach((op, d) -> s.append('`').append(op).append("` ").append(d > 0 ? "+" : "").append(d).append(", "));
            s.setLength(s.length() - 2);
            s.append("\n\n");
        }
        for (var a : r.heads()) {
            s.append("| accuracy (`").append(a.output()).append("`) | baseline | candidate | difference |\n")
                    .append("| --- | ---: | ---: | ---: |\n");
            s.append("| top-1 | ").append(Numbers.pct(a.baselineTop1())).append(" | ").append(Numbers.pct(a.candidateTop1()))
                    .append(" | ").append(Numbers.points(a.top1Diff())).append(" points (95% CI ")
                    .append(Numbers.points(a.top1DiffCi95()[0])).append(" to ").append(Numbers.points(a.top1DiffCi95()[1]))
                    .append(") |\n");
            s.append("| top-5 | ").append(Numbers.pct(a.baselineTop5())).append(" | ").append(Numbers.pct(a.candidateTop5()))
                    .append(" | ").append(Numbers.points(a.candidateTop5() - a.baselineTop5())).append(" points |\n");
            s.append("| agreement | | | ").append(Numbers.pct(a.agreement())).append(" |\n\n");
        }
        if (r.detection() != null) {
            var d = r.detection();
            s.append("| detection | baseline | candidate | difference |\n| --- | ---: | ---: | ---: |\n");
            s.append("| mAP@0.5 | ").append(Numbers.pct(d.baselineMap50())).append(" | ").append(Numbers.pct(d.candidateMap50()))
                    .append(" | ").append(Numbers.points(d.candidateMap50() - d.baselineMap50())).append(" points |\n");
            s.append("| mAP@[.5:.95] | ").append(Numbers.pct(d.baselineMap50to95())).append(" | ")
                    .append(Numbers.pct(d.candidateMap50to95())).append(" | ")
                    .append(Numbers.points(d.candidateMap50to95() - d.baselineMap50to95())).append(" points |\n\n");
        }
        if (!r.outputs().isEmpty()) {
            s.append("| output | max abs error | mean abs error | cosine | SQNR dB |\n| --- | ---: | ---: | ---: | ---: |\n");
            for (var o : r.outputs()) {
                s.append("| `").append(o.name()).append("` | ").append(Numbers.sci(o.maxAbs())).append(" | ")
                        .append(Numbers.sci(o.meanAbs())).append(" | ").append(Numbers.fixed(o.cosine(), 6)).append(" | ")
                        .append(Numbers.fixed(o.sqnrDb(), 1)).append(" |\n");
            }
            s.append('\n');
        }
        if (!r.latency().isEmpty()) {
            s.append("| batch | baseline p50 ms | candidate p50 ms | p50 speedup (95% CI) | p90 ms (b / c) | throughput/s (b / c) | verdict |\n")
                    .append("| ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
            for (var l : r.latency()) {
                s.append("| ").append(l.batch()).append(" | ").append(Numbers.fixed(l.baseline().p50Ms(), 3)).append(" | ")
                        .append(Numbers.fixed(l.candidate().p50Ms(), 3)).append(" | ").append(Numbers.ratio(l.p50Speedup()))
                        .append(" (").append(Numbers.fixed(l.p50SpeedupCi95()[0], 3)).append("–")
                        .append(Numbers.fixed(l.p50SpeedupCi95()[1], 3)).append(") | ")
                        .append(Numbers.fixed(l.baseline().p90Ms(), 3)).append(" / ").append(Numbers.fixed(l.candidate().p90Ms(), 3))
                        .append(" | ").append(Numbers.fixed(l.baseline().throughput(), 1)).append(" / ")
                        .append(Numbers.fixed(l.candidate().throughput(), 1)).append(" | ").append(l.verdict()).append(" |\n");
            }
            s.append('\n');
        }
        gates(s, r.gates());
        return s.toString();
    }

    private static void model(StringBuilder s, String name, ModelFacts m) {
        s.append("| ").append(name).append(" | ").append(Numbers.bytes(m.bytes())).append(" | ").append(Numbers.count(m.params()))
                .append(" | ").append(Numbers.count(m.macs())).append(" | ").append(m.nodes()).append(" |\n");
    }

    private static void gates(StringBuilder s, List<ValidationReport.GateOutcome> gates) {
        if (gates.isEmpty()) {
            s.append("No gates were given.\n");
            return;
        }
        s.append("Gates:\n\n");
        for (var g : gates) {
            s.append("- ").append(g.passed() ? "✅ " : "❌ ").append(g.message()).append('\n');
        }
    }
}
