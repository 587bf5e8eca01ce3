package io.deepens.jobs.commands;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.store.Manifest;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The table {@code train} prints when it has published: one row per member, read from the published manifest (its
 * member reports and {@code provenance.timing}), so it shows what was published, not what the driver believed.
 * Validation figures are those of the epoch the member kept (its best epoch with early stopping, else its last).
 */
final class TrainSummary {
  private TrainSummary() {}

  static void print(Manifest m, PrintStream out) {
    boolean classification = "classification".equals(m.task());
    List<Manifest.MemberEntry> usable = m.usableMembers();
    Map<?, ?> timing = m.provenance().get("timing") instanceof Map<?, ?> t ? t : Map.of();
    List<?> times = timing.get("members") instanceof List<?> l ? l : List.of();
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"member", "status", "epochs", classification ? "val acc" : "val RMSE", "val NLL",
        "weight", "train s", "executor", "GPU"});
    for (Manifest.MemberEntry e : m.members()) {
      JsonNode r = e.report().path("report");
      JsonNode kept = kept(r);
      int w = usable.indexOf(e);
      rows.add(new String[] {
          Integer.toString(e.index()),
          e.status(),
          Integer.toString(r.path("epochsRun").asInt()),
          classification ? percent(kept.path("validationAccuracy")) : number(kept.path("validationRmse")),
          number(kept.path("validationNll")),
          w < 0 ? "-" : String.format(Locale.ROOT, "%.3f", m.weights()[w]),
          seconds(times, e.index()),
          e.report().path("executorId").asText("?") + " (" + e.report().path("host").asText("?") + ")",
          gpus(e.report().path("gpuAddresses"))});
    }
    int[] width = new int[rows.get(0).length];
    for (String[] row : rows) {
      for (int c = 0; c < row.length; c++) {
        width[c] = Math.max(width[c], row[c].length());
      }
    }
    for (String[] row : rows) {
      StringBuilder sb = new StringBuilder();
      for (int c = 0; c < row.length; c++) {
        sb.append(c == 0 ? "" : "  ").append(c < 2 || c >= 7 ? pad(row[c], width[c]) : lpad(row[c], width[c]));
      }
      out.println(sb.toString().stripTrailing());
    }
  }

  /** The epoch whose parameters the member kept. */
  private static JsonNode kept(JsonNode report) {
    JsonNode epochs = report.path("epochs");
    int best = report.path("bestEpoch").asInt(-1);
    for (JsonNode e : epochs) {
      if (e.path("epoch").asInt() == best && "EARLY_STOPPED".equals(report.path("status").asText())) {
        return e;
      }
    }
    return epochs.size() == 0 ? com.fasterxml.jackson.databind.node.MissingNode.getInstance()
        : epochs.get(epochs.size() - 1);
  }

  private static String percent(JsonNode n) {
    return n.isNumber() ? String.format(Locale.ROOT, "%.1f%%", 100 * n.asDouble()) : "-";
  }

  private static String number(JsonNode n) {
    return n.isNumber() ? String.format(Locale.ROOT, "%.4f", n.asDouble()) : "-";
  }

  private static String seconds(List<?> times, int member) {
    for (Object o : times) {
      if (o instanceof Map<?, ?> t && t.get("member") instanceof Number n && n.intValue() == member
          && t.get("trainMillis") instanceof Number ms) {
        return String.format(Locale.ROOT, "%.1f", ms.doubleValue() / 1000);
      }
    }
    return "-";
  }

  private static String gpus(JsonNode addresses) {
    List<String> a = new ArrayList<>();
    addresses.forEach(n -> a.add(n.asText()));
    return a.isEmpty() ? "-" : String.join(",", a);
  }

  private static String pad(String s, int w) {
    return s + " ".repeat(w - s.length());
  }

  private static String lpad(String s, int w) {
    return " ".repeat(w - s.length()) + s;
  }
}
