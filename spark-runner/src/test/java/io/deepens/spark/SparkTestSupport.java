package io.deepens.spark;

import io.deepens.core.data.OptDigits;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** A shared {@code local[2]} session and the embedded digits as Spark tables, for the spark-runner tests. */
public final class SparkTestSupport {
  private static SparkSession spark;

  private SparkTestSupport() {}

  public static synchronized SparkSession local() {
    if (spark == null || spark.sparkContext().isStopped()) {
      spark = SparkSessions.getOrCreate("local[2]", "deepens-tests",
          Map.of("spark.kryo.registrationRequired", "false", "spark.sql.shuffle.partitions", "4"));
    }
    return spark;
  }

  public static StructType digitsSchema() {
    return new StructType()
        .add("id", DataTypes.LongType, false)
        .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), true)
        .add("label", DataTypes.IntegerType, true);
  }

  /** Digits with label in [fromLabel, toLabel], rows whose id % mod is in the given residues (mod 0 = all). */
  public static Dataset<Row> digits(SparkSession s, int fromLabel, int toLabel, int mod, int... residues) {
    OptDigits d = OptDigits.load();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < d.rows(); i++) {
      if (d.label(i) < fromLabel || d.label(i) > toLabel) {
        continue;
      }
      if (mod > 0) {
        boolean keep = false;
        for (int r : residues) {
          keep |= i % mod == r;
        }
        if (!keep) {
          continue;
        }
      }
      rows.add(RowFactory.create((long) i, box(d.features(i)), d.label(i)));
    }
    return s.createDataFrame(rows, digitsSchema()).repartition(3);
  }

  public static Float[] box(float[] x) {
    Float[] b = new Float[x.length];
    for (int i = 0; i < x.length; i++) {
      b[i] = x[i];
    }
    return b;
  }

  /** A small, fast digits spec: 8 seen classes, an MLP with one hidden layer. */
  public static EnsembleSpec smallSpec(int members, int epochs) {
    String yaml = """
        name: digits-test
        task: classification
        data:
          features: features
          label: label
          classes: 8
          key: id
          validation:
            fraction: 0.2
        network:
          type: mlp
          hidden: [32]
          activation: relu
        training:
          optimizer: adam
          learningRate: 0.005
          batchSize: 32
          epochs: %d
        ensemble:
          members: %d
          seed: 7
        resources:
          threadsPerMember: 1
        """.formatted(epochs, members);
    return SpecLoader.parse(yaml, "SparkTestSupport.smallSpec");
  }
}
