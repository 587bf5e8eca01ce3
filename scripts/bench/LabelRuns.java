import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * How well a table's stored order is mixed by label: for each table folder, its rows read file after file in name
 * order (each file one split, so in its stored order), the number of consecutive rows whose labels differ, against
 * (n - 1) (1 - sum_c n_c (n_c - 1) / (n (n - 1))), the expectation for a uniformly random order; a table sorted by
 * label has (classes - 1). Run by label-runs.sh.
 *
 * <p>Args: MASTER TABLE...
 */
public class LabelRuns {
  public static void main(String[] a) throws Exception {
    SparkSession spark = SparkSession.builder().master(a[0]).appName("deepens label-runs")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.files.maxPartitionBytes", "1g").config("spark.sql.files.openCostInBytes", "1g")
        .getOrCreate();
    for (int t = 1; t < a.length; t++) {
      List<Path> files;
      try (var s = Files.list(Path.of(a[t]))) {
        files = s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
      }
      List<Integer> labels = new ArrayList<>();
      for (Path f : files) {
        for (Row r : spark.read().parquet(f.toString()).select("label").collectAsList()) {
          labels.add(r.getInt(0));
        }
      }
      int n = labels.size();
      int changes = 0;
      Map<Integer, Long> perLabel = new TreeMap<>();
      for (int i = 0; i < n; i++) {
        perLabel.merge(labels.get(i), 1L, Long::sum);
        changes += i > 0 && !labels.get(i).equals(labels.get(i - 1)) ? 1 : 0;
      }
      double same = 0;
      for (long c : perLabel.values()) {
        same += (double) c * (c - 1);
      }
      double expected = (n - 1) * (1 - same / ((double) n * (n - 1)));
      System.out.printf(Locale.ROOT, "%s: %d files, %d rows, %d label changes between consecutive rows "
          + "(uniformly random order: %.0f; sorted by label: %d)%n", a[t], files.size(), n, changes, expected,
          perLabel.size() - 1);
    }
    spark.stop();
  }
}
