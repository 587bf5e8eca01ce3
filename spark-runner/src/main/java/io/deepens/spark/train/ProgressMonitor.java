package io.deepens.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.store.EnsembleStore;
import java.io.Closeable;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows training progress on the driver: per member, the epoch reached, the last training loss and validation
 * metric, and an ETA. On a terminal it redraws one status line; otherwise (logs, CI) it logs a line whenever a
 * member finishes an epoch.
 */
final class ProgressMonitor implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressMonitor.class);
  private final EnsembleStore store;
  private final String runId;
  private final int members;
  private final int epochs;
  private final long started = System.nanoTime();
  private final int[] lastEpoch;
  private final boolean terminal = System.console() != null && System.getenv("CI") == null;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "deepens-progress");
    t.setDaemon(true);
    return t;
  });

  ProgressMonitor(EnsembleStore store, String runId, int members, int epochs, long periodMillis) {
    this.store = store;
    this.runId = runId;
    this.members = members;
    this.epochs = epochs;
    this.lastEpoch = new int[members];
    timer.scheduleWithFixedDelay(this::poll, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
  }

  private void poll() {
    try {
      StringBuilder line = new StringBuilder();
      int done = 0;
      for (int m = 0; m < members; m++) {
        Path p = new Path(store.memberRunDir(runId, m), "progress.json");
        JsonNode node = store.readIfExists(p).map(b -> {
          try {
            return EnsembleStore.json().readTree(b);
          } catch (java.io.IOException e) {
            return null;
          }
        }).orElse(null);
        int epoch = node == null ? 0 : node.path("metrics").path("epoch").asInt(0);
        done += epoch;
        String loss = node == null ? "-" : fmt(node.path("metrics").path("trainLoss"));
        String val = node == null ? "-" : fmt(node.path("metrics").path("validationNll"));
        line.append(String.format(Locale.ROOT, " m%d %d/%d loss %s val %s |", m, epoch, epochs, loss, val));
        if (!terminal && epoch > lastEpoch[m]) {
          LOG.info("progress: member {} epoch {}/{}: train loss {}, validation NLL {}", m, epoch, epochs, loss, val);
        }
        lastEpoch[m] = Math.max(lastEpoch[m], epoch);
      }
      double elapsed = (System.nanoTime() - started) / 1e9;
      double fraction = done / (double) (members * epochs);
      String eta = fraction > 0 ? String.format(Locale.ROOT, "%.0fs", elapsed / fraction - elapsed) : "?";
      if (terminal) {
        System.err.print("\r[train " + Math.round(100 * fraction) + "% ETA " + eta + "]" + line);
        System.err.flush();
      }
    } catch (RuntimeException e) {
      LOG.debug("progress poll failed: {}", e.toString());
    }
  }

  private static String fmt(JsonNode n) {
    return n.isNumber() ? String.format(Locale.ROOT, "%.4f", n.asDouble()) : "-";
  }

  @Override
  public void close() {
    timer.shutdownNow();
    if (terminal) {
      System.err.println();
    }
  }
}
