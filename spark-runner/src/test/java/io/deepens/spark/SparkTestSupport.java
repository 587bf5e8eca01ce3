package io.deepens.spark;

import io.deepens.core.data.OptDigits;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** A shared {@code local[2]} session and the embedded digits as Spark tables, for the spark-runner tests. */
public final class SparkTestSupport {
  /** Spark's Java 17 options (the same list as the parent pom's spark.java17.opens), for child JVMs. */
  public static final List<String> JAVA17_OPENS = List.of("-XX:+IgnoreUnrecognizedVMOptions",
      "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED", "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
      "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
      "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED");

  private static SparkSession spark;

  private SparkTestSupport() {}

  public static synchronized SparkSession local() {
    if (spark == null || spark.sparkContext().isStopped()) {
      spark = SparkSessions.getOrCreate("local[2]", "deepens-tests",
          Map.of("spark.kryo.registrationRequired", "false", "spark.sql.shuffle.partitions", "4"));
    }
    return spark;
  }

  /** This JVM's classpath with absolute entries (surefire's manifest-only booter jar is resolved). */
  public static String testClasspath() {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isBlank()) {
      cp = System.getProperty("java.class.path");
    }
    return Arrays.stream(cp.split(File.pathSeparator))
        .filter(s -> !s.isBlank())
        .map(s -> new File(s).getAbsolutePath())
        .collect(Collectors.joining(File.pathSeparator));
  }

  public static StructType digitsSchema() {
    return new StructType()
        .add("id", DataTypes.LongType, false)
        .add("features", DataTypes.createArrayType(DataTypes.FloatType, false), true)
        .add("label", DataTypes.IntegerType, true);
  }

  /** Digits with label in [fromLabel, toLabel], rows whose id % mod is in the given residues (mod 0 = all). */
  public static Dataset<Row> digits(SparkSession s, int fromLabel, int toLabel, int mod, int... residues) {
    OptDigits d = OptDigits.load();
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < d.rows(); i++) {
      if (d.label(i) < fromLabel || d.label(i) > toLabel) {
        continue;
      }
      if (mod > 0) {
        boolean keep = false;
        for (int r : residues) {
          keep |= i % mod == r;
        }
        if (!keep) {
          continue;
        }
      }
      rows.add(RowFactory.create((long) i, box(d.features(i)), d.label(i)));
    }
    return s.createDataFrame(rows, digitsSchema()).repartition(3);
  }

  public static Float[] box(float[] x) {
    Float[] b = new Float[x.length];
    for (int i = 0; i < x.length; i++) {
      b[i] = x[i];
    }
    return b;
  }

  /** A small, fast digits spec: 8 seen classes, an MLP with one hidden layer. */
  public static EnsembleSpec smallSpec(int members, int epochs) {
    return smallSpec(members, epochs, "");
  }

  /**
   * {@link #smallSpec(int, int)} with {@code ensembleKeys} (YAML lines indented for the {@code ensemble} section,
   * e.g. a {@code hyperDeep} block) added to its {@code ensemble} section.
   */
  public static EnsembleSpec smallSpec(int members, int epochs, String ensembleKeys) {
    String yaml = """
        name: digits-test
        task: classification
        data:
          features: features
          label: label
          classes: 8
          key: id
          validation:
            fraction: 0.2
        network:
          type: mlp
          hidden: [32]
          activation: relu
        training:
          optimizer: adam
          learningRate: 0.005
          batchSize: 32
          epochs: %d
        ensemble:
          members: %d
          seed: 7
        %s
        resources:
          threadsPerMember: 1
        """.formatted(epochs, members, ensembleKeys.stripIndent().indent(2).stripTrailing());
    return SpecLoader.parse(yaml, "SparkTestSupport.smallSpec");
  }

  /**
   * {@code base} with {@code data.placement: stream}, a shuffle buffer of {@code buffer} rows and, when
   * {@code checkpointEveryRows} > 0, checkpoints within epochs.
   */
  public static EnsembleSpec streamSpec(EnsembleSpec base, int buffer, long checkpointEveryRows) {
    io.deepens.core.spec.DataSpec d = base.data();
    io.deepens.core.spec.TrainingSpec t = base.training();
    return new EnsembleSpec(base.name(), base.task(),
        new io.deepens.core.spec.DataSpec(d.features(), d.label(), d.classes(), d.key(), d.validation(),
            d.inputShape(), io.deepens.core.spec.Placement.STREAM, buffer),
        base.network(),
        new io.deepens.core.spec.TrainingSpec(t.optimizer(), t.learningRate(), t.schedule(), t.weightDecay(),
            t.batchSize(), t.epochs(), t.earlyStoppingPatience(), checkpointEveryRows),
        base.ensemble(), base.resources());
  }
}
