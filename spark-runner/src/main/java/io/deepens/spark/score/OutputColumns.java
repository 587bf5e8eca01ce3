package io.deepens.spark.score;

import io.deepens.core.InvalidInputException;
import java.util.List;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** The columns scoring appends (ARCHITECTURE.md, "Scoring output columns"); the schema is pinned by a test. */
public final class OutputColumns {
  public static final String INVALID_REASON = "invalid_reason";

  private OutputColumns() {}

  public static List<StructField> classification() {
    return List.of(
        DataTypes.createStructField("prediction", DataTypes.IntegerType, true),
        DataTypes.createStructField("probability", DataTypes.createArrayType(DataTypes.FloatType, false), true),
        DataTypes.createStructField("max_probability", DataTypes.DoubleType, true),
        DataTypes.createStructField("predictive_entropy", DataTypes.DoubleType, true),
        DataTypes.createStructField("expected_entropy", DataTypes.DoubleType, true),
        DataTypes.createStructField("mutual_information", DataTypes.DoubleType, true));
  }

  public static List<StructField> regression() {
    return List.of(
        DataTypes.createStructField("prediction", DataTypes.DoubleType, true),
        DataTypes.createStructField("variance", DataTypes.DoubleType, true),
        DataTypes.createStructField("aleatoric_variance", DataTypes.DoubleType, true),
        DataTypes.createStructField("epistemic_variance", DataTypes.DoubleType, true));
  }

  /** The input schema followed by the output columns; refuses input columns that would be shadowed. */
  public static StructType outputSchema(StructType input, boolean classification, InvalidPolicy policy) {
    StructType out = input;
    List<StructField> add = new java.util.ArrayList<>(classification ? classification() : regression());
    if (policy == InvalidPolicy.KEEP) {
      add.add(DataTypes.createStructField(INVALID_REASON, DataTypes.StringType, true));
    }
    for (StructField f : add) {
      for (String existing : input.fieldNames()) {
        if (existing.equalsIgnoreCase(f.name())) {
          throw new InvalidInputException("input column '" + existing + "' has the name of an output column "
              + "scoring appends; rename or drop it first (output columns: "
              + add.stream().map(StructField::name).toList() + ")");
        }
      }
      out = out.add(f);
    }
    return out;
  }
}
