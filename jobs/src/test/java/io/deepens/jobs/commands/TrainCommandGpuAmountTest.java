package io.deepens.jobs.commands;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.deepens.core.spec.ResourcesSpec;
import org.junit.jupiter.api.Test;

/** spark.task.resource.gpu.amount as Spark reads it: floor(1 / amount) tasks share one GPU. */
class TrainCommandGpuAmountTest {

  static int tasksPerGpuAsSparkComputesIt(String amount) {
    // Spark's own computation (a private[spark] Scala object, public in bytecode)
    return (Integer) org.apache.spark.resource.ResourceUtils$.MODULE$
        .calculateAmountAndPartsForFraction(Double.parseDouble(amount))._2();
  }

  @Test
  void fractionsBecomeExactlyOneOverN() {
    assertEquals("1", TrainCommand.taskGpuAmount(new ResourcesSpec(1, 1)));
    assertEquals("2", TrainCommand.taskGpuAmount(new ResourcesSpec(1, 2)));
    assertEquals("0.5", TrainCommand.taskGpuAmount(new ResourcesSpec(1, 0.5)));
    assertEquals("0.25", TrainCommand.taskGpuAmount(new ResourcesSpec(1, 0.25)));
    // rounded spec values pack as many members as the spec means (a plain toString of 0.1429 would give 6)
    assertEquals(6, tasksPerGpuAsSparkComputesIt("0.1429"));
    assertEquals(7, tasksPerGpuAsSparkComputesIt(TrainCommand.taskGpuAmount(new ResourcesSpec(1, 0.1429))));
    assertEquals(3, tasksPerGpuAsSparkComputesIt(TrainCommand.taskGpuAmount(new ResourcesSpec(1, 0.333))));
    for (int n = 2; n <= 1000; n++) {
      String amount = TrainCommand.taskGpuAmount(new ResourcesSpec(1, 1.0 / n));
      assertEquals(n, tasksPerGpuAsSparkComputesIt(amount), "1/" + n + " -> " + amount);
    }
  }
}
