package io.deepens.jobs.commands;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.jobs.cli.Args;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The command line and version that provenance records. */
class ProvenanceTest {
  @Test
  void theCommandLineIsRecordedWithCredentialsRemoved() {
    String[] argv = {"train", "--config", "conf/digits-mlp.yaml", "--store", "s3a://bucket/store",
        "--conf", "spark.hadoop.fs.s3a.secret.key=AbC/123", "--conf", "spark.hadoop.fs.s3a.access.key=AKIA",
        "--conf=spark.executor.memory=4g", "--conf=my.PASSWORD=hunter2", "--conf", "spark.auth.Token=t",
        "--data", "hdfs://alice:pw@nn:8020/data", "--conf", "spark.executor.cores=2"};
    Args a = Args.parse("train", argv, 1, Set.of("config", "store", "conf", "data"), Set.of());
    assertEquals(List.of(argv).subList(1, argv.length), a.argv(), "Args keeps the command's arguments as given");
    Map<String, Object> p = Provenance.of("train", a.argv());
    assertEquals("train", p.get("command"));
    assertEquals(List.of("--config", "conf/digits-mlp.yaml", "--store", "s3a://bucket/store",
        "--conf", "spark.hadoop.fs.s3a.secret.key=<redacted>", "--conf", "spark.hadoop.fs.s3a.access.key=<redacted>",
        "--conf=spark.executor.memory=4g", "--conf=my.PASSWORD=<redacted>", "--conf", "spark.auth.Token=<redacted>",
        "--data", "hdfs://alice:<redacted>@nn:8020/data", "--conf", "spark.executor.cores=2"), p.get("arguments"));
    String all = p.get("arguments").toString();
    for (String secret : List.of("AbC/123", "AKIA", "hunter2", "=t,", ":pw@")) {
      assertTrue(!all.contains(secret), secret + " leaked: " + all);
    }
  }

  @Test
  void theVersionIsTheBuildsProjectVersion() throws IOException {
    // read independently of the resource filtering: the parent pom's own <version>
    String pom = Files.readString(Path.of("").toAbsolutePath().getParent().resolve("pom.xml"));
    Matcher m = Pattern.compile("<artifactId>deepens-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
    assertTrue(m.find(), "the parent pom names its version");
    assertEquals(m.group(1), Provenance.version());
    assertEquals(m.group(1), Provenance.of("evaluate", null).get("deepensVersion"));
    assertEquals(List.of(), Provenance.of("evaluate", null).get("arguments"));
  }
}
