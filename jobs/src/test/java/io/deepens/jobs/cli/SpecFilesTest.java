package io.deepens.jobs.cli;

import io.deepens.spark.MiniHdfs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --config} read where a cluster driver can reach it: a spec on HDFS (a {@link MiniHdfs}) gives the
 * same spec as the local file; local paths and {@code file:} URIs keep reading the local file; a missing or bad spec
 * on HDFS is bad input (exit 2) whose message names the URI and, for a bad value, the key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SpecFilesTest {
  static final Path SPEC = Path.of("..", "conf/digits-mlp.yaml").toAbsolutePath().normalize(); // run from jobs/

  MiniHdfs hdfs;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    hdfs = MiniHdfs.start(dir.resolve("dfs"));
  }

  @AfterAll
  void stop() throws Exception {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  void put(String path, String text) throws Exception {
    try (FSDataOutputStream out = hdfs.fs().create(new org.apache.hadoop.fs.Path(hdfs.uri() + path), true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  @Test
  void aSpecOnHdfsIsTheSameSpecAsTheLocalFile() throws Exception {
    put("/specs/digits-mlp.yaml", Files.readString(SPEC));
    EnsembleSpec local = SpecLoader.load(SPEC);
    assertEquals(local, SpecFiles.load(hdfs.uri() + "/specs/digits-mlp.yaml", hdfs.clientConfiguration()));
    // a path without a host, resolved against the configuration's fs.defaultFS as the cluster's core-site.xml has it
    assertEquals(local, SpecFiles.load("hdfs:///specs/digits-mlp.yaml", hdfs.clientConfiguration()));
    assertEquals("digits-mlp", local.name());
  }

  @Test
  void localPathsAndFileUrisReadTheLocalFile() {
    EnsembleSpec local = SpecLoader.load(SPEC);
    assertEquals(local, SpecFiles.load(SPEC.toString(), hdfs.clientConfiguration()));
    assertEquals(local, SpecFiles.load(SPEC.toUri().toString(), hdfs.clientConfiguration()));
    assertTrue(Locations.isLocal("conf/digits-mlp.yaml"));
    assertTrue(Locations.isLocal("file:///tmp/x"));
    assertTrue(Locations.isLocal("C:\\specs\\x.yaml"), "a drive letter is not a URI scheme");
    assertFalse(Locations.isLocal("hdfs:///specs/x.yaml"));
    assertFalse(Locations.isLocal("s3a://bucket/x.yaml"));
  }

  @Test
  void aMissingSpecOnHdfsNamesTheUri() {
    String uri = hdfs.uri() + "/specs/nope.yaml";
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> SpecFiles.load(uri, hdfs.clientConfiguration()));
    assertEquals("cannot read spec file " + uri + ": no such file", e.getMessage());
  }

  @Test
  void aBadSpecOnHdfsNamesTheUriAndTheKey() throws Exception {
    put("/specs/bad.yaml", Files.readString(SPEC).replace("learningRate: 0.003", "learningRate: -0.003"));
    String uri = hdfs.uri() + "/specs/bad.yaml";
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> SpecFiles.load(uri, hdfs.clientConfiguration()));
    assertTrue(e.getMessage().startsWith(uri + ": ") && e.getMessage().contains("training.learningRate"),
        e.getMessage());
  }

  @Test
  void driverConfigurationTakesSparkHadoopSettings() {
    System.setProperty("spark.hadoop.deepens.test.key", "from-spark-submit");
    try {
      assertEquals("from-spark-submit", Locations.driverHadoopConfiguration().get("deepens.test.key"));
    } finally {
      System.clearProperty("spark.hadoop.deepens.test.key");
    }
  }
}
