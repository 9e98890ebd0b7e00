package dev.slimnx.graph.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.slimnx.graph.tensor.Dim;
import java.util.List;
import org.junit.jupiter.api.Test;

class DimProductTest {
    @Test
    void readsKnownSymbolicAndProductDims() {
        assertEquals(new DimProduct(7, List.of()), DimProduct.of(Dim.of(7)));
        assertEquals(new DimProduct(1, List.of("batch")), DimProduct.of(Dim.symbolic("batch")));
        assertEquals(new DimProduct(12, List.of("batch", "seq")), DimProduct.of(Dim.symbolic("seq * 4*batch*3")));
        assertNull(DimProduct.of(Dim.unknown()));
    }

    @Test
    void aSymbolNamedLikeANumberOrWithAnEmptyFactorStaysOneSymbol() {
        assertEquals(new DimProduct(1, List.of("4")), DimProduct.of(Dim.symbolic("4")));
        assertEquals(new DimProduct(1, List.of("a**b")), DimProduct.of(Dim.symbolic("a**b")));
    }

    @Test
    void multipliesAndDividesExactly() {
        DimProduct fourBatch = DimProduct.of(Dim.symbolic("4*batch"));
        assertEquals(Dim.symbolic("4*batch"), DimProduct.of(Dim.symbolic("batch")).times(DimProduct.of(Dim.of(4))).toDim());
        assertEquals(Dim.symbolic("batch"), fourBatch.dividedBy(DimProduct.of(Dim.of(4))).toDim());
        assertEquals(Dim.of(4), fourBatch.dividedBy(DimProduct.of(Dim.symbolic("batch"))).toDim());
        assertNull(fourBatch.dividedBy(DimProduct.of(Dim.of(3))), "4 does not divide by 3");
        assertNull(fourBatch.dividedBy(DimProduct.of(Dim.symbolic("seq"))), "no seq factor to cancel");
        assertNull(fourBatch.dividedBy(DimProduct.of(Dim.of(0))));
    }

    @Test
    void writesTheCoefficientFirstAndSymbolsSorted() {
        assertEquals(Dim.symbolic("6*batch*seq"), new DimProduct(6, List.of("seq", "batch")).toDim());
        assertEquals(Dim.of(0), new DimProduct(0, List.of("batch")).toDim());
    }
}
