package io.deepens.core.network;

import java.util.concurrent.atomic.AtomicBoolean;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads ND4J's native backend (libnd4j, OpenBLAS, the JavaCPP presets: ~1.5–3.5 s in a fresh JVM here) on a
 * background thread, so that a JVM about to need it can do other work meanwhile: a member task receiving its rows,
 * the driver reading the table. A thread that touches ND4J before the load is done waits for it (class
 * initialisation), so calling this never changes results, only when the cost is paid. Thread counts are set later
 * by whoever trains ({@code MemberTrainer.setThreads}).
 */
public final class NativeWarmUp {
  private static final Logger LOG = LoggerFactory.getLogger(NativeWarmUp.class);
  private static final AtomicBoolean STARTED = new AtomicBoolean();

  private NativeWarmUp() {}

  /** Starts the load once per JVM; returns at once. */
  public static void inBackground() {
    if (!STARTED.compareAndSet(false, true)) {
      return;
    }
    Thread t = new Thread(() -> {
      long t0 = System.nanoTime();
      try {
        // On a GPU backend nothing is allocated here: this thread is not bound to the task's device, and an
        // allocation would open a CUDA context on whichever device ND4J maps it to (MemberTask.bindDevice).
        if (Nd4j.getEnvironment().isCPU()) {
          Nd4j.create(DataType.FLOAT, 1);
        }
        LOG.debug("ND4J's native backend loaded in {} ms", (System.nanoTime() - t0) / 1_000_000);
      } catch (RuntimeException | LinkageError e) {
        // the thread that needs ND4J meets the same problem and reports it where it matters
        LOG.debug("ND4J warm-up failed: {}", e.toString());
      }
    }, "deepens-nd4j-warm-up");
    t.setDaemon(true);
    t.start();
  }
}
