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
}
