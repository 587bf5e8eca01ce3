import org.apache.spark.sql.*;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import java.util.*;

/**
 * The least work any Spark job that trains on a table must do, on fresh executors: read the table once through
 * Spark's reader and touch every feature value (sum them), ITERATIONS times in one session, so the first iteration
 * shows what cold executor JVMs pay and the others what warm ones do. With {@code driver-schema} the Parquet schema
 * is read from one file's footer on the driver instead of by Spark's schema job. Run by cold-read.sh.
 *
 * <p>Args: TABLE MASTER ITERATIONS [spark|driver-schema]
 */
public class ColdRead {
  public static void main(String[] a) throws Exception {
    long t0 = System.currentTimeMillis();
    SparkSession spark = SparkSession.builder().master(a[1]).appName("deepens cold-read bench")
        .config("spark.executor.cores", "1").config("spark.task.cpus", "1")
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer").getOrCreate();
    long t1 = System.currentTimeMillis();
    boolean driverSchema = a.length > 3 && a[3].equals("driver-schema");
    for (int it = 0; it < Integer.parseInt(a[2]); it++) {
      long s = System.currentTimeMillis();
      Dataset<Row> df;
      if (driverSchema) {
        org.apache.hadoop.conf.Configuration conf = spark.sparkContext().hadoopConfiguration();
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(a[0]);
        org.apache.hadoop.fs.FileSystem fs = dir.getFileSystem(conf);
        org.apache.hadoop.fs.FileStatus first = Arrays.stream(fs.listStatus(dir))
            .filter(f -> !f.getPath().getName().startsWith("_") && !f.getPath().getName().startsWith("."))
            .findFirst().get();
        var footer = new org.apache.parquet.hadoop.Footer(first.getPath(),
            org.apache.parquet.hadoop.ParquetFileReader.readFooter(conf, first.getPath()));
        StructType schema = org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat$.MODULE$
            .readSchema(scala.collection.JavaConverters.asScalaBuffer(List.of(footer)).toSeq(), spark).get();
        df = spark.read().schema(schema).parquet(a[0]);
      } else {
        df = spark.read().parquet(a[0]);
      }
      long s1 = System.currentTimeMillis();
      int fo = df.schema().fieldIndex("features");
      double sum = df.queryExecution().toRdd().toJavaRDD().map((InternalRow r) -> {
        float[] x = r.getArray(fo).toFloatArray();
        double acc = 0;
        for (float f : x) acc += f;
        return acc;
      }).reduce(Double::sum);
      long s2 = System.currentTimeMillis();
      System.out.printf(Locale.ROOT, "iteration %d: schema %.1f s, read and sum every value %.1f s (sum %.1f); "
          + "%.1f s after the session%n", it, (s1 - s) / 1e3, (s2 - s1) / 1e3, sum, (s2 - t1) / 1e3);
    }
    System.out.printf(Locale.ROOT, "session %.1f s%n", (t1 - t0) / 1e3);
    spark.stop();
  }
}
