import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.util.ArrayData;

/**
 * Rows per second of Spark's scan of an array<float> column on one core (local[1]), with Spark's vectorized reader
 * for nested columns off and on (Spark 3.5's default), alternating, REPS times each; every row's array is copied out
 * as deepens' decoder does. Prints each repetition and the medians' ratio.
 *   java -cp ... NestedRead TABLE COLUMN REPS
 */
public final class NestedRead {
  /** Sums one value per row after copying the whole array out; returns (rows, checksum). */
  static final class Copy implements FlatMapFunction<Iterator<InternalRow>, double[]> {
    private final int ordinal;

    Copy(int ordinal) {
      this.ordinal = ordinal;
    }

    @Override
    public Iterator<double[]> call(Iterator<InternalRow> rows) {
      long n = 0;
      double sum = 0;
      while (rows.hasNext()) {
        ArrayData a = rows.next().getArray(ordinal);
        float[] x = a.toFloatArray();
        sum += x[x.length / 2];
        n++;
      }
      return List.of(new double[] {n, sum}).iterator();
    }
  }

  public static void main(String[] args) {
    String table = args[0];
    String column = args[1];
    int reps = Integer.parseInt(args[2]);
    SparkSession spark = SparkSession.builder().master("local[1]").appName("nested-read")
        .config("spark.ui.enabled", "false").getOrCreate();
    String key = "spark.sql.parquet.enableNestedColumnVectorizedReader";
    List<List<Double>> rates = List.of(new ArrayList<>(), new ArrayList<>());
    double check = Double.NaN;
    for (int r = 0; r <= reps; r++) { // repetition 0 warms the JIT and is not counted
      for (int on = 0; on < 2; on++) {
        spark.conf().set(key, on == 1 ? "true" : "false");
        Dataset<Row> df = spark.read().parquet(table);
        int ordinal = Arrays.asList(df.schema().fieldNames()).indexOf(column);
        long t0 = System.nanoTime();
        List<double[]> parts = df.queryExecution().toRdd().toJavaRDD().mapPartitions(new Copy(ordinal)).collect();
        double secs = (System.nanoTime() - t0) / 1e9;
        double rows = parts.stream().mapToDouble(p -> p[0]).sum();
        double sum = parts.stream().mapToDouble(p -> p[1]).sum();
        if (!Double.isNaN(check) && sum != check) {
          throw new IllegalStateException("the two readers disagree: checksum " + sum + " against " + check);
        }
        check = sum;
        System.out.printf("rep %d  vectorized nested %-5s %,.0f rows in %.3f s = %,.0f rows/s%n", r, on == 1,
            rows, secs, rows / secs);
        if (r > 0) {
          rates.get(on).add(rows / secs);
        }
      }
    }
    double off = median(rates.get(0));
    double on = median(rates.get(1));
    System.out.printf("median rows/s: row-by-row %,.0f, vectorized %,.0f, ratio %.2f%n", off, on, on / off);
    spark.stop();
  }

  static double median(List<Double> v) {
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }
}
