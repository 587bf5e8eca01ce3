import java.io.DataOutputStream;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

/**
 * Corrupted copies of a 28x28 image test table, for dataset-shift benchmarks in the manner of Ovadia et al. (NeurIPS
 * 2019, "Can you trust your model's uncertainty?"): rotations (their rotated-MNIST shift), additive Gaussian noise and
 * contrast reduction (two of Hendrycks and Dietterich's ImageNet-C/CIFAR-10-C corruptions), each at three intensities.
 *
 * <p>For every corruption NAME it writes {@code OUT/NAME} (Parquet, the input's schema: {@code features} array of 784
 * floats in [0, 1], {@code label}, {@code id}) for deepens, and {@code OUT/NAME.f32} (rows x 784 float32,
 * little-endian) with {@code OUT/NAME.labels} (one byte per row) for the PyTorch peer, in the same row order. The
 * result depends only on the input rows: noise is drawn from a generator seeded by (SEED, row id), so it is the same
 * whatever order the rows come in.
 *
 * <p>Args: INPUT OUT [SEED]. Run by make-shift.sh.
 */
public class Shift {
  static final int SIDE = 28;
  static final int PIXELS = SIDE * SIDE;

  public static void main(String[] a) throws IOException {
    String input = a[0];
    Path out = Path.of(a[1]);
    long seed = a.length > 2 ? Long.parseLong(a[2]) : 20261206L;
    SparkSession spark = SparkSession.builder().master("local[2]").appName("deepens shift bench")
        .config("spark.ui.enabled", "false").getOrCreate();
    Dataset<Row> test = spark.read().parquet(input).select("features", "label", "id").orderBy("id");
    StructType schema = test.schema();
    List<Row> rows = test.collectAsList();
    int n = rows.size();
    float[][] x = new float[n][];
    int[] y = new int[n];
    long[] id = new long[n];
    for (int i = 0; i < n; i++) {
      Row r = rows.get(i);
      List<Float> f = r.getList(0);
      if (f.size() != PIXELS) {
        throw new IllegalArgumentException("row id " + r.get(2) + " has " + f.size() + " features, expected " + PIXELS);
      }
      x[i] = new float[PIXELS];
      for (int p = 0; p < PIXELS; p++) {
        x[i][p] = f.get(p);
      }
      y[i] = ((Number) r.get(1)).intValue();
      id[i] = ((Number) r.get(2)).longValue();
    }
    Files.createDirectories(out);
    String[] names = {"rotate-15", "rotate-30", "rotate-60", "noise-0.1", "noise-0.2", "noise-0.4", "contrast-0.4",
        "contrast-0.2", "contrast-0.1"};
    for (String name : names) {
      float[][] c = new float[n][];
      String kind = name.substring(0, name.indexOf('-'));
      double level = Double.parseDouble(name.substring(name.indexOf('-') + 1));
      for (int i = 0; i < n; i++) {
        c[i] = switch (kind) {
          case "rotate" -> rotate(x[i], level);
          case "noise" -> noise(x[i], level, new SplittableRandom(seed ^ (id[i] * 0x9E3779B97F4A7C15L)));
          case "contrast" -> contrast(x[i], level);
          default -> throw new IllegalStateException(name);
        };
      }
      write(spark, schema, out, name, c, y, id, rows);
      System.out.printf("%-14s %d rows, mean pixel %.4f (clean %.4f)%n", name, n, mean(c), mean(x));
    }
    spark.stop();
  }

  /** Bilinear rotation by {@code degrees} (counter-clockwise) about the image centre; outside pixels are 0. */
  static float[] rotate(float[] img, double degrees) {
    double t = Math.toRadians(degrees);
    double cos = Math.cos(t);
    double sin = Math.sin(t);
    double c = (SIDE - 1) / 2.0;
    float[] o = new float[PIXELS];
    for (int r = 0; r < SIDE; r++) {
      for (int q = 0; q < SIDE; q++) {
        // the source point that lands on (r, q): rotate (r, q) back by -t about the centre
        double dx = q - c;
        double dy = r - c;
        double sx = cos * dx - sin * dy + c;
        double sy = sin * dx + cos * dy + c;
        int x0 = (int) Math.floor(sx);
        int y0 = (int) Math.floor(sy);
        double fx = sx - x0;
        double fy = sy - y0;
        double v = (1 - fx) * (1 - fy) * at(img, y0, x0) + fx * (1 - fy) * at(img, y0, x0 + 1)
            + (1 - fx) * fy * at(img, y0 + 1, x0) + fx * fy * at(img, y0 + 1, x0 + 1);
        o[r * SIDE + q] = (float) Math.min(1.0, Math.max(0.0, v));
      }
    }
    return o;
  }

  private static double at(float[] img, int r, int q) {
    return r < 0 || q < 0 || r >= SIDE || q >= SIDE ? 0.0 : img[r * SIDE + q];
  }

  /** Additive Gaussian noise of standard deviation {@code sd}, clipped to [0, 1]. */
  static float[] noise(float[] img, double sd, SplittableRandom rnd) {
    float[] o = new float[PIXELS];
    for (int p = 0; p < PIXELS; p++) {
      o[p] = (float) Math.min(1.0, Math.max(0.0, img[p] + sd * rnd.nextGaussian()));
    }
    return o;
  }

  /** Contrast reduction: (x - mean) * c + mean, the mean over the image's pixels (Hendrycks and Dietterich 2019). */
  static float[] contrast(float[] img, double c) {
    double m = 0;
    for (float v : img) {
      m += v;
    }
    m /= PIXELS;
    float[] o = new float[PIXELS];
    for (int p = 0; p < PIXELS; p++) {
      o[p] = (float) ((img[p] - m) * c + m);
    }
    return o;
  }

  static double mean(float[][] x) {
    double s = 0;
    for (float[] r : x) {
      for (float v : r) {
        s += v;
      }
    }
    return s / ((double) x.length * PIXELS);
  }

  static void write(SparkSession spark, StructType schema, Path out, String name, float[][] x, int[] y, long[] id,
      List<Row> original) throws IOException {
    List<Row> rows = new ArrayList<>(x.length);
    for (int i = 0; i < x.length; i++) {
      List<Float> f = new ArrayList<>(PIXELS);
      for (float v : x[i]) {
        f.add(v);
      }
      rows.add(RowFactory.create(f, original.get(i).get(1), original.get(i).get(2)));
    }
    Path tmp = out.resolve("." + name + ".tmp");
    spark.createDataFrame(rows, schema).coalesce(1).write().mode(SaveMode.Overwrite).parquet(tmp.toString());
    deleteRecursively(out.resolve(name));
    Files.move(tmp, out.resolve(name));
    ByteBuffer buf = ByteBuffer.allocate(PIXELS * 4).order(ByteOrder.LITTLE_ENDIAN);
    try (DataOutputStream f = new DataOutputStream(new BufferedOutputStream(
        new FileOutputStream(out.resolve(name + ".f32").toFile())));
        DataOutputStream l = new DataOutputStream(new BufferedOutputStream(
            new FileOutputStream(out.resolve(name + ".labels").toFile())))) {
      for (int i = 0; i < x.length; i++) {
        buf.clear();
        buf.asFloatBuffer().put(x[i]);
        f.write(buf.array());
        l.writeByte(y[i]);
      }
    }
  }

  static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
