package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Matrix products: MatMul (batched, NumPy rules for rank 1), MatMulInteger, QLinearMatMul, Gemm, Einsum. */
final class LinearRules {
    private LinearRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        rules.put("MatMul", ctx -> ctx.set(ctx.elemType(0), matmul(ctx.shape(0), ctx.shape(1))));
        rules.put("MatMulInteger", ctx -> ctx.set(DataType.INT32, matmul(ctx.shape(0), ctx.shape(1))));
        rules.put("QLinearMatMul", ctx -> ctx.set(ctx.elemType(7), matmul(ctx.shape(0), ctx.shape(3))));
        rules.put("Gemm", LinearRules::gemm);
        rules.put("Einsum", LinearRules::einsum);
    }

    /**
     * @return the shape of {@code a @ b} under NumPy matmul rules, or null when a rank is unknown
     * @throws IllegalArgumentException when the contracted dims are known and differ
     */
    static Shape matmul(Shape a, Shape b) {
        if (a == null || b == null || a.rank() == 0 || b.rank() == 0) {
            return null;
        }
        List<Dim> da = NodeContext.dims(a);
        List<Dim> db = NodeContext.dims(b);
        boolean vecA = da.size() == 1;
        boolean vecB = db.size() == 1;
        if (vecA) {
            da.add(0, Dim.of(1));
        }
        if (vecB) {
            db.add(Dim.of(1));
        }
        Dim ka = da.get(da.size() - 1);
        Dim kb = db.get(db.size() - 2);
        if (Dims.conflict(ka, kb)) {
            throw new IllegalArgumentException("MatMul of " + a + " and " + b + ": inner dims differ");
        }
        Shape batch = Dims.broadcast(Shape.of(da.subList(0, da.size() - 2)), Shape.of(db.subList(0, db.size() - 2)));
        List<Dim> out = NodeContext.dims(batch);
        if (!vecA) {
            out.add(da.get(da.size() - 2));
        }
        if (!vecB) {
            out.add(db.get(db.size() - 1));
        }
        return Shape.of(out);
    }

    private static void gemm(NodeContext ctx) {
        Shape a = ctx.shape(0);
        Shape b = ctx.shape(1);
        if (a == null || b == null || a.rank() != 2 || b.rank() != 2) {
            ctx.set(ctx.elemType(0), Dims.unknownDims(2));
            return;
        }
        boolean ta = ctx.intAttr("transA", 0) != 0;
        boolean tb = ctx.intAttr("transB", 0) != 0;
        Dim m = a.dim(ta ? 1 : 0);
        Dim n = b.dim(tb ? 0 : 1);
        if (Dims.conflict(a.dim(ta ? 0 : 1), b.dim(tb ? 1 : 0))) {
            throw new IllegalArgumentException("Gemm of " + a + " and " + b + ": inner dims differ");
        }
        ctx.set(ctx.elemType(0), Shape.of(List.of(m, n)));
    }

    private static void einsum(NodeContext ctx) {
        String eq = ctx.stringAttr("equation", "").replace(" ", "");
        DataType type = ctx.elemType(0);
        String[] sides = eq.split("->", -1);
        String[] terms = sides[0].split(",", -1);
        if (terms.length != ctx.inputCount()) {
            throw new IllegalArgumentException("equation '" + eq + "' has " + terms.length + " operands");
        }
        Map<Character, Dim> letters = new HashMap<>();
        Map<Character, Integer> counts = new HashMap<>();
        Shape ellipsis = Shape.of();
        for (int i = 0; i < terms.length; i++) {
            Shape s = ctx.shape(i);
            if (s == null) {
                ctx.set(type, null);
                return;
            }
            String t = terms[i];
            int dots = t.indexOf("...");
            String term = t.replace("...", "");
            int ellRank = s.rank() - term.length();
            int k = 0;
            for (int c = 0; c < t.length(); c++) {
                if (c == dots) {
                    ellipsis = Dims.broadcast(ellipsis, Shape.of(s.dims().subList(k, k + ellRank)));
                    k += ellRank;
                    c += 2;
                    continue;
                }
                char ch = t.charAt(c);
                Dim d = s.dim(k++);
                letters.merge(ch, d, Dims::merge);
                counts.merge(ch, 1, Integer::sum);
            }
        }
        String output;
        boolean withEllipsis;
        if (sides.length == 2) {
            output = sides[1];
            withEllipsis = output.contains("...");
        } else {
            StringBuilder sb = new StringBuilder();
            counts.keySet().stream().filter(ch -> counts.get(ch) == 1).sorted().forEach(sb::append);
            output = sb.toString();
            withEllipsis = sides[0].contains("...");
        }
        List<Dim> out = new ArrayList<>();
        for (int c = 0; c < output.length(); c++) {
            if (output.startsWith("...", c)) {
                out.addAll(ellipsis.dims());
                c += 2;
            } else {
                out.add(letters.getOrDefault(output.charAt(c), Dim.unknown()));
            }
        }
        if (sides.length == 1 && withEllipsis) {
            out.addAll(0, ellipsis.dims());
        }
        ctx.set(type, Shape.of(out));
    }
}
