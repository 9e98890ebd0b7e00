package dev.slimnx.graph.tensor;

import java.util.Objects;

/**
 * The type of a value, mirroring ONNX's {@code TypeProto}: a tensor (element type and optional
 * shape), a sequence, a map, an optional, a sparse tensor or an opaque type. {@code denotation} and
 * {@code extra} (fields this version does not interpret) are carried for lossless round trips and
 * ignored by inference.
 */
public sealed interface ValueType {

    /** @return the ONNX type denotation, empty when none */
    String denotation();

    /** @return uninterpreted fields of the {@code TypeProto} */
    OpaqueFields extra();

    /** @return uninterpreted fields of the inner message ({@code TypeProto.Tensor}, {@code .Sequence}, ...) */
    OpaqueFields innerExtra();

    /**
     * A dense tensor.
     *
     * @param elemType element type; UNDEFINED when the file did not say
     * @param shape the shape, or null when even the rank is unknown
     * @param denotation ONNX denotation
     * @param extra uninterpreted fields of the {@code TypeProto}
     * @param innerExtra uninterpreted fields of its {@code TypeProto.Tensor}
     */
    record TensorType(DataType elemType, Shape shape, String denotation, OpaqueFields extra, OpaqueFields innerExtra) implements ValueType {
        /** Without uninterpreted inner fields. */
        public TensorType(DataType elemType, Shape shape, String denotation, OpaqueFields extra) {
            this(elemType, shape, denotation, extra, OpaqueFields.NONE);
        }

        public TensorType {
            Objects.requireNonNull(elemType);
            Objects.requireNonNull(denotation);
            Objects.requireNonNull(extra);
            Objects.requireNonNull(innerExtra);
        }

        /**
         * @param elemType element type
         * @param shape shape or null for unknown rank
         * @return a plain tensor type
         */
        public static TensorType of(DataType elemType, Shape shape) {
            return new TensorType(elemType, shape, "", OpaqueFields.NONE);
        }

        /**
         * @param newShape the replacement shape
         * @return this type with another shape
         */
        public TensorType withShape(Shape newShape) {
            return new TensorType(elemType, newShape, denotation, extra, innerExtra);
        }
    }

    /** A sparse tensor, as {@link TensorType}. */
    record SparseTensorType(DataType elemType, Shape shape, String denotation, OpaqueFields extra, OpaqueFields innerExtra) implements ValueType {
        /** Without uninterpreted inner fields. */
        public SparseTensorType(DataType elemType, Shape shape, String denotation, OpaqueFields extra) {
            this(elemType, shape, denotation, extra, OpaqueFields.NONE);
        }

    }

    /** A sequence of elements of one type; {@code elemType} may be null when unspecified. */
    record SequenceType(ValueType elemType, String denotation, OpaqueFields extra, OpaqueFields innerExtra) implements ValueType {
        /** Without uninterpreted inner fields. */
        public SequenceType(ValueType elemType, String denotation, OpaqueFields extra) {
            this(elemType, denotation, extra, OpaqueFields.NONE);
        }

    }

    /** A map; {@code valueType} may be null when unspecified. */
    record MapType(DataType keyType, ValueType valueType, String denotation, OpaqueFields extra, OpaqueFields innerExtra) implements ValueType {
        /** Without uninterpreted inner fields. */
        public MapType(DataType keyType, ValueType valueType, String denotation, OpaqueFields extra) {
            this(keyType, valueType, denotation, extra, OpaqueFields.NONE);
        }

    }

    /** An optional value; {@code elemType} may be null when unspecified. */
    record OptionalType(ValueType elemType, String denotation, OpaqueFields extra, OpaqueFields innerExtra) implements ValueType {
        /** Without uninterpreted inner fields. */
        public OptionalType(ValueType elemType, String denotation, OpaqueFields extra) {
            this(elemType, denotation, extra, OpaqueFields.NONE);
        }

    }

    /** An opaque type known by domain and name. */
    record OpaqueType(String domain, String name, String denotation, OpaqueFields extra, OpaqueFields innerExtra) implements ValueType {
        /** Without uninterpreted inner fields. */
        public OpaqueType(String domain, String name, String denotation, OpaqueFields extra) {
            this(domain, name, denotation, extra, OpaqueFields.NONE);
        }

    }

    /**
     * A {@code TypeProto} with none of its alternatives set: legal in ONNX files (a value whose type
     * nobody wrote down) and kept as such.
     */
    record UnsetType(String denotation, OpaqueFields extra) implements ValueType {
        @Override
        public OpaqueFields innerExtra() {
            return OpaqueFields.NONE;
        }
    }
}
