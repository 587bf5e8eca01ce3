package io.deepens.jobs.cli;

import io.deepens.core.InvalidInputException;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Reads tables by URI: the format is given, or taken from the extension, Parquet otherwise. */
public final class Tables {
  private Tables() {}

  public static String formatOf(String uri, String format) {
    if (format != null) {
      return format.toLowerCase(Locale.ROOT);
    }
    String u = uri.toLowerCase(Locale.ROOT);
    for (String f : new String[] {"csv", "json", "orc", "parquet", "avro"}) {
      if (u.endsWith("." + f) || u.endsWith("." + f + ".gz")) {
        return f;
      }
    }
    return "parquet";
  }

  public static Dataset<Row> read(SparkSession spark, String uri, String format) {
    String f = formatOf(uri, format);
    try {
      var reader = spark.read().format(f);
      if (f.equals("csv")) {
        reader = reader.option("header", "true").option("inferSchema", "true");
      }
      return reader.load(uri);
    } catch (Exception e) { // AnalysisException is checked but undeclared (Scala)
      if (e instanceof org.apache.spark.sql.AnalysisException ae) {
        throw new InvalidInputException("cannot read " + f + " table " + uri + ": " + ae.getSimpleMessage(), e);
      }
      throw e;
    }
  }
}
