package io.deepens.jobs.importer;

import io.deepens.core.DeepensException;
import io.deepens.core.data.OptDigits;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Writes the embedded UCI optical digits as three Parquet tables under one folder, following the documented
 * out-of-distribution protocol: classes 0..7 are "seen", split into {@code train} (about 80%) and {@code test} by a
 * hash of the row id; classes 8 and 9 form {@code ood}, never seen in training. Columns: {@code id} (long),
 * {@code features} (array&lt;float&gt;, pixels / 16), {@code label} (int). Written to a temporary folder and renamed
 * into place; a complete output is left as it is.
 */
public final class OptDigitsImporter {
  public static final int SEEN_CLASSES = 8;
  public static final double TEST_FRACTION = 0.2;

  /** Row counts written. */
  public record Summary(long train, long test, long ood, boolean alreadyPresent) {}

  private OptDigitsImporter() {}

  public static StructType schema() {
    return new StructType()
        .add("id", DataTypes.LongType, false)
        .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), false)
        .add("label", DataTypes.IntegerType, false);
  }

  /** True when row {@code id} of a seen class belongs to the test split (a fixed hash of the id). */
  public static boolean isTest(long id) {
    long z = id * 0x9e3779b97f4a7c15L;
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    z ^= z >>> 31;
    return (z >>> 11) * 0x1.0p-53 < TEST_FRACTION;
  }

  public static Summary write(SparkSession spark, String outputUri) {
    try {
      Path out = new Path(outputUri);
      FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
      String[] parts = {"train", "test", "ood"};
      if (fs.exists(new Path(out, "_IMPORTED"))) {
        return new Summary(count(spark, out, "train"), count(spark, out, "test"), count(spark, out, "ood"), true);
      }
      OptDigits digits = OptDigits.load();
      List<List<Row>> rows = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
      for (int i = 0; i < digits.rows(); i++) {
        float[] x = digits.features(i);
        Float[] boxed = new Float[x.length];
        for (int j = 0; j < x.length; j++) {
          boxed[j] = x[j];
        }
        Row r = RowFactory.create(digits.id(i), boxed, digits.label(i));
        int part = digits.label(i) >= SEEN_CLASSES ? 2 : isTest(digits.id(i)) ? 1 : 0;
        rows.get(part).add(r);
      }
      Path tmp = new Path(out.getParent(), "." + out.getName() + ".importing");
      fs.delete(tmp, true);
      for (int p = 0; p < parts.length; p++) {
        Dataset<Row> df = spark.createDataFrame(rows.get(p), schema()).coalesce(1);
        df.write().mode(SaveMode.Overwrite).parquet(new Path(tmp, parts[p]).toString());
      }
      fs.create(new Path(tmp, "_IMPORTED"), true).close();
      fs.delete(out, true);
      if (!fs.rename(tmp, out)) {
        throw new DeepensException("cannot rename " + tmp + " to " + out);
      }
      return new Summary(rows.get(0).size(), rows.get(1).size(), rows.get(2).size(), false);
    } catch (IOException e) {
      throw new DeepensException("cannot write the digits tables to " + outputUri + ": " + e.getMessage(), e);
    }
  }

  private static long count(SparkSession spark, Path out, String part) {
    return spark.read().parquet(new Path(out, part).toString()).count();
  }
}
