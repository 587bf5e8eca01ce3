package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.ResourcesSpec;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.RunLock;
import io.deepens.spark.SparkTestSupport;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A library caller of {@link TrainingRun} gets the rules {@code deepens train} has: a run id publishes once, one
 * process per run id, warm-start checks, and the Spark settings the spec implies (spark.task.resource.gpu.amount as
 * Spark reads it: floor(1 / amount) tasks share one GPU).
 */
class TrainingRunTest {
  @TempDir Path tmp;

  final AtomicInteger reads = new AtomicInteger();

  /** The digits, counting how often the run asked for them. */
  Supplier<Dataset<Row>> digits(SparkSession spark) {
    return () -> {
      reads.incrementAndGet();
      return SparkTestSupport.digits(spark, 0, 7, 5, 0, 1);
    };
  }

  TrainingRun.Request request(SparkSession spark, String runId, String warmStart) {
    EnsembleSpec spec = SparkTestSupport.smallSpec(2, 1);
    return new TrainingRun.Request(spec, tmp.resolve("store").toString(), runId, "digits", digits(spark), null,
        warmStart, null, Map.of("command", "test"));
  }

  @Test
  void aRunIdPublishesOnceAndARerunReadsNothing() {
    SparkSession spark = SparkTestSupport.local();
    TrainingRun.Outcome first = TrainingRun.run(spark, request(spark, "nightly", null));
    TrainingRun.Published p = assertInstanceOf(TrainingRun.Published.class, first);
    assertEquals("v000001", p.result().version());
    assertEquals("nightly", p.result().manifest().provenance().get("runId"));
    assertEquals(1, reads.get());
    TrainingRun.Outcome again = TrainingRun.run(spark, request(spark, "nightly", null));
    TrainingRun.AlreadyPublished a = assertInstanceOf(TrainingRun.AlreadyPublished.class, again);
    assertEquals("v000001", a.run().version());
    assertEquals(1, reads.get(), "a rerun of a published run id does not read its input");
    EnsembleStore store = EnsembleStore.open(tmp.resolve("store").toString(), spark.sparkContext()
        .hadoopConfiguration());
    assertEquals(java.util.List.of("v000001"), store.versions());
  }

  @Test
  void aRunIdHeldByAnotherProcessFailsAtOnceWithoutReadingItsInput() {
    SparkSession spark = SparkTestSupport.local();
    EnsembleStore store = EnsembleStore.open(tmp.resolve("store").toString(), spark.sparkContext()
        .hadoopConfiguration());
    try (RunLock held = RunLock.acquire(store, "busy", "another deepens train")) {
      RunLock.HeldException e = assertThrows(RunLock.HeldException.class,
          () -> TrainingRun.run(spark, request(spark, "busy", null)));
      assertTrue(e.getMessage().contains("another deepens train"), e.getMessage());
    }
    assertEquals(0, reads.get());
    assertTrue(store.versions().isEmpty());
  }

  @Test
  void aWarmStartWithAnotherMemberCountFailsBeforeTrainingNamingTheFix() {
    SparkSession spark = SparkTestSupport.local();
    TrainingRun.run(spark, request(spark, "base", null));
    EnsembleSpec three = SparkTestSupport.smallSpec(3, 1);
    TrainingRun.Request warm = new TrainingRun.Request(three, tmp.resolve("store").toString(), "warm", "digits",
        digits(spark), null, "LATEST", null, Map.of());
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> TrainingRun.run(spark, warm));
    assertEquals("train: --warm-start v000001 has 2 members but this run trains 3: warm start needs the same member "
        + "count (pass --members 2 or train without --warm-start)", e.getMessage());
    assertEquals(1, reads.get(), "only the first run read the table");
  }

  @Test
  void aSpecAskingForGpusNeedsExecutorGpusBeforeSparkStarts() {
    EnsembleSpec spec = SparkTestSupport.smallSpec(2, 1).withResources(new ResourcesSpec(1, 0.25));
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> TrainingRun.sessionConf(spec,
        Map.of()));
    assertTrue(e.getMessage().contains("spark.executor.resource.gpu.amount is not set"), e.getMessage());
    Map<String, String> conf = TrainingRun.sessionConf(spec, Map.of("spark.executor.resource.gpu.amount", "1"));
    assertEquals("0.25", conf.get("spark.task.resource.gpu.amount"));
    assertEquals("1", conf.get("spark.task.cpus"));
    assertFalse(TrainingRun.sessionConf(SparkTestSupport.smallSpec(2, 1), Map.of())
        .containsKey("spark.task.resource.gpu.amount"));
  }

  static int tasksPerGpuAsSparkComputesIt(String amount) {
    // Spark's own computation (a private[spark] Scala object, public in bytecode)
    return (Integer) org.apache.spark.resource.ResourceUtils$.MODULE$
        .calculateAmountAndPartsForFraction(Double.parseDouble(amount))._2();
  }

  @Test
  void fractionsBecomeExactlyOneOverN() {
    assertEquals("1", TrainingRun.taskGpuAmount(new ResourcesSpec(1, 1)));
    assertEquals("2", TrainingRun.taskGpuAmount(new ResourcesSpec(1, 2)));
    assertEquals("0.5", TrainingRun.taskGpuAmount(new ResourcesSpec(1, 0.5)));
    assertEquals("0.25", TrainingRun.taskGpuAmount(new ResourcesSpec(1, 0.25)));
    // rounded spec values pack as many members as the spec means (a plain toString of 0.1429 would give 6)
    assertEquals(6, tasksPerGpuAsSparkComputesIt("0.1429"));
    assertEquals(7, tasksPerGpuAsSparkComputesIt(TrainingRun.taskGpuAmount(new ResourcesSpec(1, 0.1429))));
    assertEquals(3, tasksPerGpuAsSparkComputesIt(TrainingRun.taskGpuAmount(new ResourcesSpec(1, 0.333))));
    for (int n = 2; n <= 1000; n++) {
      String amount = TrainingRun.taskGpuAmount(new ResourcesSpec(1, 1.0 / n));
      assertEquals(n, tasksPerGpuAsSparkComputesIt(amount), "1/" + n + " -> " + amount);
    }
  }
}
