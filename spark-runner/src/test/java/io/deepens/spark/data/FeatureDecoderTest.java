package io.deepens.spark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The bulk-copy path for Spark's unsafe {@code array<float>} layout agrees with the element-wise rules. */
class FeatureDecoderTest {
  private static final StructType SCHEMA =
      new StructType().add("features", DataTypes.createArrayType(DataTypes.FloatType, true));

  private static FeatureDecoder decoder(int n) {
    return FeatureDecoder.of(SCHEMA, List.of("features"), null, 0, null, n);
  }

  @Test
  void unsafeFloatArraysAreCopiedExactlyAtAnOffset() {
    float[] x = new float[70]; // more than 64: two words of null bits
    for (int j = 0; j < x.length; j++) {
      x[j] = j * 0.25f - 3f;
    }
    float[] dest = new float[3 + 70];
    assertNull(decoder(70).decodeFeatures(new GenericInternalRow(new Object[] {
        UnsafeArrayData.fromPrimitiveArray(x)}), dest, 3));
    assertArrayEquals(x, java.util.Arrays.copyOfRange(dest, 3, 73), 0f);
    assertEquals(0f, dest[0]);
  }

  @Test
  void aNullElementBeyondTheFirst64IsStillReported() {
    float[] x = new float[70];
    UnsafeArrayData a = UnsafeArrayData.fromPrimitiveArray(x);
    a.setNullAt(66);
    String reason = decoder(70).decodeFeatures(new GenericInternalRow(new Object[] {a}), new float[70], 0);
    assertEquals("feature 66 of 'features' is null", reason);
  }

  @Test
  void nanAfterTheBulkCopyIsStillReported() {
    float[] x = new float[8];
    x[5] = Float.NaN;
    String reason = decoder(8).decodeFeatures(
        new GenericInternalRow(new Object[] {UnsafeArrayData.fromPrimitiveArray(x)}), new float[8], 0);
    assertEquals("feature 5 of 'features' is NaN (NaN and infinite values are not allowed)", reason);
  }

  /** Spark ML vectors: a dense one leaves the struct's size field null, so its length is its values' count. */
  @Test
  void mlVectorsDenseAndSparseHaveTheirLengthAndValues() {
    StructType schema = new StructType().add("features", org.apache.spark.ml.linalg.SQLDataTypes.VectorType());
    FeatureDecoder d = FeatureDecoder.of(schema, List.of("features"), null, 0, null, 4);
    org.apache.spark.ml.linalg.VectorUDT udt = new org.apache.spark.ml.linalg.VectorUDT();
    GenericInternalRow dense = new GenericInternalRow(new Object[] {
        udt.serialize(org.apache.spark.ml.linalg.Vectors.dense(1, -2, 0.5, 4))});
    GenericInternalRow sparse = new GenericInternalRow(new Object[] {
        udt.serialize(org.apache.spark.ml.linalg.Vectors.sparse(4, new int[] {1, 3}, new double[] {7, -1}))});
    GenericInternalRow shortDense = new GenericInternalRow(new Object[] {
        udt.serialize(org.apache.spark.ml.linalg.Vectors.dense(1, 2, 3))});
    assertEquals(4, d.featureLength(dense));
    assertEquals(4, d.featureLength(sparse));
    assertEquals(3, d.featureLength(shortDense));
    float[] x = new float[4];
    assertNull(d.decodeFeatures(dense, x, 0));
    assertArrayEquals(new float[] {1, -2, 0.5f, 4}, x, 0f);
    assertNull(d.decodeFeatures(sparse, x, 0));
    assertArrayEquals(new float[] {0, 7, 0, -1}, x, 0f);
  }
}
