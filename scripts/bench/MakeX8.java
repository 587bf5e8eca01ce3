import org.apache.spark.sql.*;
import org.apache.spark.sql.types.DataTypes;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;

/**
 * A larger training table for the benchmarks: SOURCE repeated COPIES times, same schema and column order, copy k
 * with id + k * ID_STRIDE (copy 0 keeps the source ids), so every id stays unique as long as the source ids are in
 * [0, ID_STRIDE). Row order: each copy keeps the source's stored order (its Parquet files in name order, each file's
 * rows in file order; deepens import writes its tables in a seeded random order with file names in that order), and
 * the copies follow one another, copy 0 first: the output's files, in name order, hold copy 0's rows, then copy 1's,
 * and so on (one output file per source file and copy). No order of its own is drawn, so a source sorted by label
 * gives a table of COPIES sorted runs. Written to OUTPUT.tmp, checked (row count, distinct ids), then renamed to
 * OUTPUT. Run by make-x8.sh.
 *
 * <p>Args: SOURCE OUTPUT COPIES MASTER
 */
public class MakeX8 {
  static final long ID_STRIDE = 100_000_000L;

  public static void main(String[] a) throws Exception {
    String source = a[0], output = a[1];
    int copies = Integer.parseInt(a[2]);
    SparkSession spark = SparkSession.builder().master(a[3]).appName("deepens make-x8")
        .config("spark.sql.parquet.compression.codec", "snappy")
        // every source file (up to 1 GiB) is one split, so its rows are read in their stored order
        .config("spark.sql.files.maxPartitionBytes", "1g").config("spark.sql.files.openCostInBytes", "1g")
        .getOrCreate();
    Dataset<Row> src = spark.read().parquet(source);
    org.apache.hadoop.fs.Path srcPath = new org.apache.hadoop.fs.Path(source);
    java.util.List<String> files = new java.util.ArrayList<>();
    for (org.apache.hadoop.fs.FileStatus f : srcPath.getFileSystem(spark.sparkContext().hadoopConfiguration())
        .listStatus(srcPath)) {
      String name = f.getPath().getName();
      if (f.isFile() && !name.startsWith("_") && !name.startsWith(".")) {
        files.add(f.getPath().toString());
      }
    }
    java.util.Collections.sort(files); // name order: the stored order of the table's rows
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
      for (String file : files) {
        // one file, one scan, one split: a union's partitions follow its inputs in order
        Dataset<Row> part = spark.read().schema(src.schema()).parquet(file).select(sel);
        all = all == null ? part : all.union(part);
      }
    }
    String tmp = output + ".tmp";
    all.write().mode(SaveMode.Overwrite).parquet(tmp);
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
