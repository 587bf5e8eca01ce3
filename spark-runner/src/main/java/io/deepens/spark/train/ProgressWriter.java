package io.deepens.spark.train;

import io.deepens.core.store.EnsembleStore;
import io.deepens.core.train.EpochListener;
import io.deepens.core.train.EpochMetrics;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a member's progress after every epoch as {@code checkpoints/<run>/m-XXX/progress.json}, which the
 * driver's {@link ProgressMonitor} polls: it works the same on one machine and on a cluster, and costs one small
 * write per epoch.
 */
final class ProgressWriter implements EpochListener {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressWriter.class);
  private final EnsembleStore store;
  private final Path file;
  private final int epochs;
  private final long started = System.nanoTime();
  /** This attempt's epochs, compact: what the driver's monitor logs one line for each. */
  private final java.util.List<Map<String, Object>> history = new java.util.ArrayList<>();

  ProgressWriter(EnsembleStore store, String runId, int member, int epochs) {
    this.store = store;
    this.file = new Path(store.memberRunDir(runId, member), "progress.json");
    this.epochs = epochs;
  }

  @Override
  public void onEpoch(int member, EpochMetrics metrics) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("member", member);
    p.put("epochs", epochs);
    p.put("metrics", metrics);
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("epoch", metrics.epoch() + 1);
    h.put("trainLoss", metrics.trainLoss());
    h.put("validationNll", metrics.validationNll());
    h.put("validationAccuracy", metrics.validationAccuracy());
    h.put("validationRmse", metrics.validationRmse());
    history.add(h);
    p.put("history", history);
    p.put("secondsInThisAttempt", (System.nanoTime() - started) / 1e9);
    try {
      store.writeAtomically(file, EnsembleStore.toJson(p));
    } catch (RuntimeException e) {
      LOG.warn("member {}: cannot write progress to {}: {}", member, file, e.getMessage());
    }
    LOG.debug("member {} epoch {}", member, metrics); // the driver's ProgressMonitor shows it
  }
}
