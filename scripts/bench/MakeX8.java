import org.apache.spark.sql.*;
import org.apache.spark.sql.types.DataTypes;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * A larger training table for the benchmarks: SOURCE repeated COPIES times, same schema and column order, copy k
 * with id + k * ID_STRIDE (copy 0 keeps the source ids), so every id stays unique as long as the source ids are in
 * [0, ID_STRIDE). Row order: its own seeded random order over all rows, ascending Spark's xxhash64(ORDER_SEED, id)
 * (ids are unique, so ties do not occur), whatever the source's order, in COPIES x (the source's files) files,
 * range-partitioned on that key (the boundaries from Spark's sample of it) and each sorted by it. Not the source's
 * order per copy: with every copy in the same order, the same images come back in the same sequence 60,000 rows
 * apart, which a streaming member's bounded buffer does not undo (measured in scripts/bench/README.md, "The issue's
 * run on a table deepens imported"); a large table has no such period. Written to OUTPUT.tmp, checked (row count,
 * distinct ids), then renamed to OUTPUT. Run by make-x8.sh.
 *
 * <p>Args: SOURCE OUTPUT COPIES MASTER
 */
public class MakeX8 {
  static final long ID_STRIDE = 100_000_000L;
  static final long ORDER_SEED = 8L;

  public static void main(String[] a) throws Exception {
    String source = a[0], output = a[1];
    int copies = Integer.parseInt(a[2]);
    SparkSession spark = SparkSession.builder().master(a[3]).appName("deepens make-x8")
        .config("spark.sql.parquet.compression.codec", "snappy").getOrCreate();
    Dataset<Row> src = spark.read().parquet(source);
    int sourceFiles = src.inputFiles().length;
    String[] cols = src.columns();
    if (!src.schema().apply("id").dataType().equals(DataTypes.LongType)) {
      throw new IllegalArgumentException(source + ": column id is " + src.schema().apply("id").dataType()
          + ", this program expects long ids");
    }
    Row range = src.agg(functions.min("id"), functions.max("id"), functions.count(lit(1))).first();
    long min = range.getLong(0), max = range.getLong(1), rows = range.getLong(2);
    if (min < 0 || max >= ID_STRIDE) {
      throw new IllegalArgumentException(source + ": ids span [" + min + ", " + max + "], outside [0, " + ID_STRIDE
          + "); copies would collide");
    }
    Dataset<Row> all = null;
    for (int k = 0; k < copies; k++) {
      Column[] sel = new Column[cols.length];
      for (int i = 0; i < cols.length; i++) {
        sel[i] = cols[i].equals("id") ? col("id").plus(lit(k * ID_STRIDE)).as("id") : col(cols[i]);
      }
      Dataset<Row> copy = src.select(sel);
      all = all == null ? copy : all.union(copy);
    }
    String tmp = output + ".tmp";
    Column key = functions.xxhash64(lit(ORDER_SEED), col("id"));
    all.withColumn("_order", key).repartitionByRange(copies * sourceFiles, col("_order"))
        .sortWithinPartitions("_order").drop("_order").write().mode(SaveMode.Overwrite).parquet(tmp);
    Dataset<Row> back = spark.read().parquet(tmp);
    Row check = back.agg(functions.count(lit(1)), functions.countDistinct(col("id"))).first();
    if (check.getLong(0) != rows * copies || check.getLong(1) != rows * copies) {
      throw new IllegalStateException(tmp + ": " + check.getLong(0) + " rows, " + check.getLong(1)
          + " distinct ids; expected " + rows * copies + " of each");
    }
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(output);
    org.apache.hadoop.fs.FileSystem fs = out.getFileSystem(spark.sparkContext().hadoopConfiguration());
    if (fs.exists(out)) {
      throw new IllegalStateException(output + " appeared while this ran; the new table stays in " + tmp);
    }
    if (!fs.rename(new org.apache.hadoop.fs.Path(tmp), out)) {
      throw new IllegalStateException("could not rename " + tmp + " to " + output);
    }
    System.out.printf(Locale.ROOT, "%s: %d rows (%d x %d), ids unique, schema %s%n", output, rows * copies, copies,
        rows, back.schema().simpleString());
    spark.stop();
  }
}
