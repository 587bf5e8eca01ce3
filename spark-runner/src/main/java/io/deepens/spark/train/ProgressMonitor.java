package io.deepens.spark.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.store.EnsembleStore;
import java.io.Closeable;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows training progress on the driver, read from the {@code progress.json} each member's task writes after every
 * epoch ({@link ProgressWriter}). On a terminal it keeps one live line per member (a bar, epoch k/N, training loss,
 * validation NLL, ETA), redrawn in place; elsewhere (logs, CI, spark-submit's driver log) it logs one line per
 * member and epoch, numbers rounded to what a reader compares. A last poll at {@link #close} catches epochs that
 * finished between polls.
 */
final class ProgressMonitor implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressMonitor.class);
  private static final int BAR = 20;
  private final EnsembleStore store;
  private final String runId;
  /** The first member index shown (a hyper-deep ensemble's retraining stage starts after its pool). */
  private final int first;
  private final int members;
  private final int epochs;
  private final long started = System.nanoTime();
  /** Per member: the last epoch (1-based) logged or drawn. */
  private final int[] shown;
  private final boolean terminal;
  private final PrintStream console;
  private final java.util.function.Consumer<String> log;
  private int linesDrawn;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "deepens-progress");
    t.setDaemon(true);
    return t;
  });

  ProgressMonitor(EnsembleStore store, String runId, int members, int epochs, long periodMillis) {
    this(store, runId, 0, members, epochs, periodMillis);
  }

  /** Shows members {@code first}..{@code members - 1}. */
  ProgressMonitor(EnsembleStore store, String runId, int first, int members, int epochs, long periodMillis) {
    this(store, runId, first, members, epochs, periodMillis,
        System.console() != null && System.getenv("CI") == null, System.err, LOG::info);
  }

  ProgressMonitor(EnsembleStore store, String runId, int members, int epochs, long periodMillis, boolean terminal,
      PrintStream console, java.util.function.Consumer<String> log) {
    this(store, runId, 0, members, epochs, periodMillis, terminal, console, log);
  }

  /**
   * @param terminal draw live lines on {@code console}; otherwise write one line per member and epoch to {@code log}
   */
  ProgressMonitor(EnsembleStore store, String runId, int first, int members, int epochs, long periodMillis,
      boolean terminal, PrintStream console, java.util.function.Consumer<String> log) {
    this.first = first;
    this.console = console;
    this.log = log;
    this.store = store;
    this.runId = runId;
    this.members = members;
    this.epochs = epochs;
    this.shown = new int[members];
    this.terminal = terminal;
    timer.scheduleWithFixedDelay(this::poll, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
  }

  /** One member's state as its last progress file tells it. */
  record MemberProgress(int member, int epoch, Double loss, Double nll, Double accuracy) {}

  private JsonNode read(int m) {
    Path p = new Path(store.memberRunDir(runId, m), "progress.json");
    return store.readIfExists(p).map(b -> {
      try {
        return EnsembleStore.json().readTree(b);
      } catch (java.io.IOException e) {
        return null; // being replaced: the next poll reads it
      }
    }).orElse(null);
  }

  private static Double number(JsonNode n) {
    return n != null && n.isNumber() ? n.asDouble() : null;
  }

  private static MemberProgress progress(int member, JsonNode h) {
    return new MemberProgress(member, h.path("epoch").asInt(), number(h.get("trainLoss")),
        number(h.get("validationNll")), number(h.get("validationAccuracy")));
  }

  synchronized void poll() {
    poll(false);
  }

  /** @param finished the member stage has ended: every member is done (early stopping ends some before epoch N) */
  private synchronized void poll(boolean finished) {
    try {
      MemberProgress[] now = new MemberProgress[members - first];
      for (int m = first; m < members; m++) {
        JsonNode node = read(m);
        now[m - first] = new MemberProgress(m, 0, null, null, null);
        if (node == null) {
          continue;
        }
        for (JsonNode h : node.path("history")) {
          MemberProgress p = progress(m, h);
          now[m - first] = p;
          if (!terminal && p.epoch() > shown[m]) {
            log.accept(String.format(Locale.ROOT, "member %d epoch %d/%d: %s", m, p.epoch(), epochs, metrics(p)));
            shown[m] = p.epoch();
          }
        }
      }
      if (terminal) {
        draw(now, finished);
      }
    } catch (RuntimeException e) {
      LOG.debug("progress poll failed: {}", e.toString());
    }
  }

  static String metrics(MemberProgress p) {
    StringBuilder sb = new StringBuilder();
    sb.append("loss ").append(p.loss() == null ? "-" : String.format(Locale.ROOT, "%.3f", p.loss()));
    if (p.nll() != null) {
      sb.append(String.format(Locale.ROOT, ", validation NLL %.3f", p.nll()));
    }
    if (p.accuracy() != null) {
      sb.append(String.format(Locale.ROOT, ", accuracy %.1f%%", 100 * p.accuracy()));
    }
    return sb.toString();
  }

  /** Redraws the members' lines in place (cursor up over the previous drawing, clear each line). */
  private void draw(MemberProgress[] now, boolean finished) {
    double elapsed = (System.nanoTime() - started) / 1e9;
    StringBuilder sb = new StringBuilder();
    if (linesDrawn > 0) {
      sb.append("\033[").append(linesDrawn).append('A');
    }
    for (MemberProgress p : now) {
      int filled = epochs == 0 ? BAR : Math.min(BAR, p.epoch() * BAR / epochs);
      String eta = finished || p.epoch() >= epochs ? "done" : p.epoch() == 0 ? "?"
          : String.format(Locale.ROOT, "%.0f s", elapsed / p.epoch() * (epochs - p.epoch()));
      sb.append("\r\033[2K").append(String.format(Locale.ROOT, "member %d [%s%s] epoch %d/%d  %s  ETA %s%n",
          p.member(), "#".repeat(filled), ".".repeat(BAR - filled), p.epoch(), epochs, metrics(p), eta));
    }
    linesDrawn = now.length;
    console.print(sb);
    console.flush();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    poll(true); // epochs that ended after the last poll
  }
}
