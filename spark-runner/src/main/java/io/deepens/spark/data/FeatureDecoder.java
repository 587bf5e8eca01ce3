package io.deepens.spark.data;

import io.deepens.core.InvalidInputException;
import io.deepens.core.random.Seeds;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeArrayData;
import org.apache.spark.sql.catalyst.util.ArrayData;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.Platform;

/**
 * Reads features, label and row key straight from Spark's internal rows, without boxing per element.
 *
 * <p>Features may be one column of {@code array<float>}, {@code array<double>} or a Spark ML {@code Vector}, or a
 * list of numeric columns. The schema is checked when the decoder is built (before any data is touched); each row
 * is checked when decoded, and a bad row yields a reason instead of a number: null, wrong length, NaN or infinite
 * values, a label that is not a class index in range.
 */
public final class FeatureDecoder implements Serializable {
  private static final long serialVersionUID = 1L;

  enum Kind { FLOAT_ARRAY, DOUBLE_ARRAY, VECTOR, COLUMNS }

  private final Kind kind;
  private final int[] featureOrdinals;
  private final DataType[] featureTypes;
  private final String featureDescription;
  private final int labelOrdinal;
  private final DataType labelType;
  private final String labelColumn;
  private final int classes; // 0 for regression or no label
  private final int keyOrdinal;
  private final DataType keyType;
  private final String keyColumn;
  private int numFeatures; // -1 until known for array/vector columns

  private FeatureDecoder(Kind kind, int[] featureOrdinals, DataType[] featureTypes, String featureDescription,
      int labelOrdinal, DataType labelType, String labelColumn, int classes,
      int keyOrdinal, DataType keyType, String keyColumn, int numFeatures) {
    this.kind = kind;
    this.featureOrdinals = featureOrdinals;
    this.featureTypes = featureTypes;
    this.featureDescription = featureDescription;
    this.labelOrdinal = labelOrdinal;
    this.labelType = labelType;
    this.labelColumn = labelColumn;
    this.classes = classes;
    this.keyOrdinal = keyOrdinal;
    this.keyType = keyType;
    this.keyColumn = keyColumn;
    this.numFeatures = numFeatures;
  }

  /**
   * Builds a decoder for {@code schema}.
   *
   * @param features one array/vector column, or several numeric columns
   * @param label the label column, or null when scoring
   * @param classes number of classes for classification (labels 0..classes-1), 0 for regression
   * @param key a row-key column, or null to key rows by a hash of their content
   * @param numFeatures expected feature length, or -1 to learn it from the data (see {@link #withNumFeatures})
   */
  public static FeatureDecoder of(StructType schema, List<String> features, String label, int classes, String key,
      int numFeatures) {
    InvalidInputException.check(features != null && !features.isEmpty(),
        "the features column list is empty: name one array/vector column or several numeric columns");
    Kind kind;
    int[] ords = new int[features.size()];
    DataType[] types = new DataType[features.size()];
    for (int i = 0; i < ords.length; i++) {
      ords[i] = ordinal(schema, features.get(i), "features");
      types[i] = schema.fields()[ords[i]].dataType();
    }
    if (features.size() == 1 && !(types[0] instanceof NumericType)) {
      DataType t = types[0];
      if (t instanceof ArrayType a && a.elementType().equals(DataTypes.FloatType)) {
        kind = Kind.FLOAT_ARRAY;
      } else if (t instanceof ArrayType a && a.elementType().equals(DataTypes.DoubleType)) {
        kind = Kind.DOUBLE_ARRAY;
      } else if (t.equals(SQLDataTypes.VectorType())) {
        kind = Kind.VECTOR;
      } else {
        throw new InvalidInputException(String.format(Locale.ROOT,
            "features column '%s' has type %s; it must be array<float>, array<double>, an ML Vector, "
                + "or a list of numeric columns (cast it, e.g. col('%s').cast('array<float>'))",
            features.get(0), t.simpleString(), features.get(0)));
      }
    } else {
      kind = Kind.COLUMNS;
      for (int i = 0; i < ords.length; i++) {
        InvalidInputException.check(types[i] instanceof NumericType,
            "feature column '%s' has type %s; with several feature columns each must be numeric",
            features.get(i), types[i].simpleString());
      }
      InvalidInputException.check(numFeatures < 0 || numFeatures == ords.length,
          "the ensemble expects %d features but %d feature columns were given (%s)",
          numFeatures, ords.length, features);
      numFeatures = ords.length;
    }
    int labelOrd = -1;
    DataType labelType = null;
    if (label != null) {
      labelOrd = ordinal(schema, label, "label");
      labelType = schema.fields()[labelOrd].dataType();
      InvalidInputException.check(labelType instanceof NumericType,
          "label column '%s' has type %s; it must be numeric (an integer class index 0..%d%s)",
          label, labelType.simpleString(), Math.max(classes - 1, 0), classes > 0 ? "" : " or a regression target");
    }
    int keyOrd = -1;
    DataType keyType = null;
    if (key != null) {
      keyOrd = ordinal(schema, key, "key");
      keyType = schema.fields()[keyOrd].dataType();
      InvalidInputException.check(keyType instanceof NumericType || keyType.equals(DataTypes.StringType),
          "key column '%s' has type %s; it must be an integer or a string", key, keyType.simpleString());
    }
    String description = features.size() == 1 ? "'" + features.get(0) + "'" : features.toString();
    return new FeatureDecoder(kind, ords, types, description, labelOrd, labelType, label, classes,
        keyOrd, keyType, key, numFeatures);
  }

  private static int ordinal(StructType schema, String column, String role) {
    for (int i = 0; i < schema.fields().length; i++) {
      if (schema.fields()[i].name().equals(column)) {
        return i;
      }
    }
    List<String> names = new ArrayList<>();
    for (StructField f : schema.fields()) {
      names.add(f.name() + ":" + f.dataType().simpleString());
    }
    throw new InvalidInputException(String.format(Locale.ROOT,
        "%s column '%s' is not in the table; its columns are %s (set data.%s in the spec or pass the right table)",
        role, column, names, role.equals("features") ? "features" : role));
  }

  /** A copy that expects {@code n} features per row. */
  public FeatureDecoder withNumFeatures(int n) {
    FeatureDecoder d = new FeatureDecoder(kind, featureOrdinals, featureTypes, featureDescription, labelOrdinal,
        labelType, labelColumn, classes, keyOrdinal, keyType, keyColumn, n);
    return d;
  }

  public int numFeatures() {
    return numFeatures;
  }

  public String featureDescription() {
    return featureDescription;
  }

  /** The number of feature values the row holds, or -1 when the features are null. */
  public int featureLength(InternalRow row) {
    switch (kind) {
      case FLOAT_ARRAY:
      case DOUBLE_ARRAY:
        return row.isNullAt(featureOrdinals[0]) ? -1 : row.getArray(featureOrdinals[0]).numElements();
      case VECTOR: {
        if (row.isNullAt(featureOrdinals[0])) {
          return -1;
        }
        // Spark ML's vector struct: (type, size, indices, values); a dense vector (type 1) leaves size null
        InternalRow v = row.getStruct(featureOrdinals[0], 4);
        return v.getByte(0) == 1 ? v.getArray(3).numElements() : v.getInt(1);
      }
      default:
        for (int o : featureOrdinals) {
          if (row.isNullAt(o)) {
            return -1;
          }
        }
        return featureOrdinals.length;
    }
  }

  /**
   * Writes the row's features into {@code dest[offset .. offset + numFeatures)}. Returns null when the row is
   * valid, else the reason it is not (nothing else is promised about {@code dest} then).
   */
  public String decodeFeatures(InternalRow row, float[] dest, int offset) {
    int n = numFeatures;
    switch (kind) {
      case FLOAT_ARRAY: {
        if (row.isNullAt(featureOrdinals[0])) {
          return "features " + featureDescription + " are null";
        }
        ArrayData a = row.getArray(featureOrdinals[0]);
        if (a.numElements() != n) {
          return lengthReason(a.numElements());
        }
        if (a instanceof UnsafeArrayData u && noNulls(u, n)) {
          // Spark's own layout: [numElements][null bits][values]; copy the values in one go
          Platform.copyMemory(u.getBaseObject(), u.getBaseOffset() + UnsafeArrayData.calculateHeaderPortionInBytes(n),
              dest, Platform.FLOAT_ARRAY_OFFSET + (long) offset * Float.BYTES, (long) n * Float.BYTES);
          break;
        }
        for (int j = 0; j < n; j++) {
          if (a.isNullAt(j)) {
            return "feature " + j + " of " + featureDescription + " is null";
          }
          dest[offset + j] = a.getFloat(j);
        }
        break;
      }
      case DOUBLE_ARRAY: {
        if (row.isNullAt(featureOrdinals[0])) {
          return "features " + featureDescription + " are null";
        }
        ArrayData a = row.getArray(featureOrdinals[0]);
        if (a.numElements() != n) {
          return lengthReason(a.numElements());
        }
        for (int j = 0; j < n; j++) {
          if (a.isNullAt(j)) {
            return "feature " + j + " of " + featureDescription + " is null";
          }
          dest[offset + j] = (float) a.getDouble(j);
        }
        break;
      }
      case VECTOR: {
        if (row.isNullAt(featureOrdinals[0])) {
          return "features " + featureDescription + " are null";
        }
        InternalRow v = row.getStruct(featureOrdinals[0], 4);
        byte type = v.getByte(0);
        if (type == 1) { // dense
          ArrayData values = v.getArray(3);
          if (values.numElements() != n) {
            return lengthReason(values.numElements());
          }
          for (int j = 0; j < n; j++) {
            dest[offset + j] = (float) values.getDouble(j);
          }
        } else {
          int size = v.getInt(1);
          if (size != n) {
            return lengthReason(size);
          }
          java.util.Arrays.fill(dest, offset, offset + n, 0f);
          ArrayData idx = v.getArray(2);
          ArrayData values = v.getArray(3);
          for (int j = 0; j < idx.numElements(); j++) {
            dest[offset + idx.getInt(j)] = (float) values.getDouble(j);
          }
        }
        break;
      }
      default:
        for (int j = 0; j < featureOrdinals.length; j++) {
          int o = featureOrdinals[j];
          if (row.isNullAt(o)) {
            return "feature column '" + featureName(j) + "' is null";
          }
          dest[offset + j] = (float) numeric(row, o, featureTypes[j]);
        }
    }
    for (int j = 0; j < n; j++) {
      float f = dest[offset + j];
      if (!Float.isFinite(f)) {
        return String.format(Locale.ROOT, "feature %d of %s is %s (NaN and infinite values are not allowed)",
            j, featureDescription, f);
      }
    }
    return null;
  }

  /** True when none of the array's {@code n} null bits is set (one long per 64 elements). */
  private static boolean noNulls(UnsafeArrayData u, int n) {
    Object base = u.getBaseObject();
    long bits = u.getBaseOffset() + 8;
    for (int w = 0; w < (n + 63) / 64; w++) {
      if (Platform.getLong(base, bits + 8L * w) != 0) {
        return false;
      }
    }
    return true;
  }

  private String featureName(int j) {
    return featureDescription.replaceAll("[\\[\\]]", "").split(",\\s*")[j];
  }

  private String lengthReason(int found) {
    return String.format(Locale.ROOT, "features %s have %d values, expected %d", featureDescription, found,
        numFeatures);
  }

  /**
   * Decodes the label into {@code out[0]}; returns null when valid, else the reason. Classification labels must be
   * integers in 0..classes-1; regression targets must be finite.
   */
  public String decodeLabel(InternalRow row, float[] out) {
    if (row.isNullAt(labelOrdinal)) {
      return "label '" + labelColumn + "' is null";
    }
    double y = numeric(row, labelOrdinal, labelType);
    if (!Double.isFinite(y)) {
      return "label '" + labelColumn + "' is " + y;
    }
    if (classes > 0 && (y != Math.rint(y) || y < 0 || y >= classes)) {
      return String.format(Locale.ROOT, "label '%s' is %s; it must be an integer class index in 0..%d "
          + "(set data.classes in the spec to the number of classes)", labelColumn, fmt(y), classes - 1);
    }
    out[0] = (float) y;
    return null;
  }

  private static String fmt(double y) {
    return y == Math.rint(y) && Math.abs(y) < 1e15 ? Long.toString((long) y) : Double.toString(y);
  }

  private static double numeric(InternalRow row, int ordinal, DataType t) {
    if (t.equals(DataTypes.DoubleType)) {
      return row.getDouble(ordinal);
    } else if (t.equals(DataTypes.FloatType)) {
      return row.getFloat(ordinal);
    } else if (t.equals(DataTypes.IntegerType)) {
      return row.getInt(ordinal);
    } else if (t.equals(DataTypes.LongType)) {
      return row.getLong(ordinal);
    } else if (t.equals(DataTypes.ShortType)) {
      return row.getShort(ordinal);
    } else if (t.equals(DataTypes.ByteType)) {
      return row.getByte(ordinal);
    } else if (t instanceof org.apache.spark.sql.types.DecimalType d) {
      return row.getDecimal(ordinal, d.precision(), d.scale()).toDouble();
    }
    throw new IllegalStateException("not a numeric type: " + t);
  }

  /**
   * The row's 64-bit key: the key column's value (hashed when a string), or a content hash of features and label.
   * Keys decide the validation split, each member's row order and bootstrap draws, so they must be stable.
   */
  public long rowKey(InternalRow row, float[] features, int offset, float label) {
    if (keyOrdinal >= 0 && !row.isNullAt(keyOrdinal)) {
      if (keyType.equals(DataTypes.StringType)) {
        return Seeds.rowKey(row.getUTF8String(keyOrdinal).toString());
      }
      return Seeds.rowKey((long) numeric(row, keyOrdinal, keyType));
    }
    return contentKey(features, offset, numFeatures, label);
  }

  /** {@link Seeds#rowKey(float[], double)} of {@code features[offset .. offset + n)}. */
  public static long contentKey(float[] features, int offset, int n, float label) {
    float[] x = offset == 0 && features.length == n ? features
        : java.util.Arrays.copyOfRange(features, offset, offset + n);
    return Seeds.rowKey(x, label);
  }

  /**
   * A number in [0, 1) from a row key and a seed; the validation split puts a row in validation when it is below
   * the validation fraction, so the split depends only on the key and the ensemble seed.
   */
  public static double unit(long key, long seed) {
    return Seeds.toUnitInterval(Seeds.mix64(key ^ Seeds.mix64(seed)));
  }

  /** How to point a user at this row in a message: its key value, or the start of its features. */
  public String describe(InternalRow row, long ordinalInPartition, int partition) {
    if (keyOrdinal >= 0) {
      Object v = row.isNullAt(keyOrdinal) ? "null"
          : keyType.equals(DataTypes.StringType) ? "'" + row.getUTF8String(keyOrdinal) + "'"
          : fmt(numeric(row, keyOrdinal, keyType));
      return keyColumn + "=" + v;
    }
    return "row " + ordinalInPartition + " of input partition " + partition
        + " (the table has no key column: set data.key in the spec to name rows by a column)";
  }
}
