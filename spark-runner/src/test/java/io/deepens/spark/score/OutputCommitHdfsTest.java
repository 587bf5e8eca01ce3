package io.deepens.spark.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.store.ProcessIdentity;
import io.deepens.spark.MiniHdfs;
import io.deepens.spark.SparkTestSupport;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scoring output's commit on HDFS (an in-process HDFS, {@link MiniHdfs}, on 127.0.0.1): the table is written to
 * a hidden staging sibling and renamed into place; an existing output is refused or, with overwrite, replaced only
 * once the new one is complete; a failed write leaves the old output and no staging folder; a staging folder left by
 * a dead process of this host is removed by the next write. (The kill -9 cases run through the command line in
 * jobs' SchedulerRetryTest.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutputCommitHdfsTest {
  MiniHdfs hdfs;
  SparkSession spark;
  String root;
  FileSystem fs;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    hdfs = MiniHdfs.start(dir.resolve("dfs"));
    root = hdfs.uri();
    spark = SparkTestSupport.local();
    fs = FileSystem.get(URI.create(root), spark.sparkContext().hadoopConfiguration());
  }

  @AfterAll
  void stop() throws java.io.IOException {
    if (hdfs != null) {
      hdfs.close();
    }
  }

  Configuration conf() {
    return spark.sparkContext().hadoopConfiguration();
  }

  long count(String path) {
    return spark.read().parquet(path).count();
  }

  List<String> siblings(String output) throws Exception {
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(output);
    return Arrays.stream(fs.listStatus(p.getParent())).map(FileStatus::getPath).map(org.apache.hadoop.fs.Path::getName)
        .filter(n -> n.startsWith("." + p.getName() + ".deepens-")).toList();
  }

  @Test
  void writesAppearOnlyWhenCompleteAndOverwriteReplacesByRename() throws Exception {
    String out = root + "/scored/digits";
    OutputCommit first = OutputCommit.begin(conf(), out, false, "");
    assertTrue(first.staging().startsWith(root + "/scored/.digits.deepens-staging-" + ProcessIdentity.pid() + "@"),
        first.staging());
    spark.range(100).write().parquet(first.staging());
    assertFalse(fs.exists(new org.apache.hadoop.fs.Path(out)), "nothing at the output before the commit");
    first.commit();
    assertEquals(100, count(out));
    assertEquals(List.of(), siblings(out));

    InvalidInputException exists = assertThrows(InvalidInputException.class,
        () -> OutputCommit.begin(conf(), out, false, ""));
    assertTrue(exists.getMessage().contains("exists already; pass --mode overwrite"), exists.getMessage());

    // overwrite: the old output stays readable while the new one is written, then the rename swaps them
    OutputCommit second = OutputCommit.begin(conf(), out, true, "");
    spark.range(50).write().parquet(second.staging());
    assertEquals(100, count(out));
    second.commit();
    assertEquals(50, count(out));
    assertEquals(List.of(), siblings(out));

    // a write that fails: abort leaves the old output and no staging folder
    OutputCommit failed = OutputCommit.begin(conf(), out, true, "");
    spark.range(10).write().parquet(failed.staging());
    failed.abort();
    assertEquals(50, count(out));
    assertEquals(List.of(), siblings(out));

    // the output appears while a job without overwrite runs: its commit refuses and leaves both alone
    String other = root + "/scored/other";
    OutputCommit late = OutputCommit.begin(conf(), other, false, "");
    spark.range(7).write().parquet(late.staging());
    spark.range(3).write().parquet(other);
    InvalidInputException raced = assertThrows(InvalidInputException.class, late::commit);
    assertTrue(raced.getMessage().contains("was created by someone else"), raced.getMessage());
    assertEquals(3, count(other), "not moved into the existing folder (a plain FileSystem.rename would)");
    assertEquals(List.of(), siblings(other));
  }

  @Test
  void aStagingFolderOfADeadProcessOfThisHostIsRemovedAndOneOfAnotherHostIsKept() throws Exception {
    Process p = new ProcessBuilder("true").start();
    assertEquals(0, p.waitFor());
    String out = root + "/leftovers/t";
    String host = ProcessIdentity.host().replaceAll("[^A-Za-z0-9._-]", "_");
    String dead = root + "/leftovers/.t.deepens-staging-" + p.pid() + "@" + host + "-"
        + ProcessIdentity.hostIdDigest() + "-0123abcd";
    String elsewhere = root + "/leftovers/.t.deepens-staging-" + p.pid() + "@another-host-89abcdef-0123abcd";
    spark.range(5).write().parquet(dead);
    spark.range(5).write().parquet(elsewhere);
    OutputCommit c = OutputCommit.begin(conf(), out, false, "");
    assertEquals(List.of(".t.deepens-staging-" + p.pid() + "@another-host-89abcdef-0123abcd"), siblings(out),
        "the dead process's folder is removed; another host's may belong to a running job");
    spark.range(20).write().parquet(c.staging());
    c.commit();
    assertEquals(20, count(out));
  }
}
