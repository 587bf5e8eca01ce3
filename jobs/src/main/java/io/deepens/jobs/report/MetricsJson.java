package io.deepens.jobs.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes metrics.json. Keys are snake_case; a metric object holds {@code accuracy}, {@code nll}, {@code brier},
 * {@code ece} and, with an OOD table, {@code auroc_entropy}, {@code auroc_mi}, {@code aupr_entropy}
 * ({@code auroc_mi} is null for a member without Monte Carlo dropout passes: its mutual information is 0 on every
 * row).
 *
 * <pre>
 * { "format_version": 1, "ensemble_uri", "version", "test_rows", "ood_rows" (null without OOD),
 *   "ensemble": {metrics}, "members": [{metrics}, ...], "weights": [...], "effective_members",
 *   "temperature" (null when none),
 *   "reliability": {"bin_lower", "bin_upper", "count", "confidence", "accuracy"},
 *   "histograms": {"entropy": {"edges", "test", "ood"}, "mutual_information": {"edges", "test", "ood"}},
 *   "roc": {"entropy": {"fpr", "tpr"}, "mutual_information": {"fpr", "tpr"}}   (only with curves),
 *   "shift": {"NAME": {"table", "rows", "ensemble": {metrics}, "member_mean": {metrics}}, ...}   (only with --shift),
 *   "provenance": {...} }
 * </pre>
 */
final class MetricsJson {

  static final int FORMAT_VERSION = 1;

  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private MetricsJson() {}

  static void write(EvaluationReport r, Path file) throws IOException {
    MAPPER.writeValue(file.toFile(), toJson(r));
  }

  static ObjectNode toJson(EvaluationReport r) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("format_version", FORMAT_VERSION);
    root.put("ensemble_uri", r.ensembleUri());
    root.put("version", r.version());
    root.put("test_rows", r.testRows());
    root.put("ood_rows", r.oodRows());
    root.set("ensemble", metrics(r.ensemble()));
    ArrayNode members = root.putArray("members");
    for (MetricSet m : r.members()) {
      members.add(metrics(m));
    }
    doubles(root.putArray("weights"), r.weights());
    root.put("effective_members", r.effectiveMembers());
    root.put("temperature", r.temperature());

    ObjectNode rel = root.putObject("reliability");
    doubles(rel.putArray("bin_lower"), r.reliabilityBinLower());
    doubles(rel.putArray("bin_upper"), r.reliabilityBinUpper());
    longs(rel.putArray("count"), r.reliabilityCount());
    doubles(rel.putArray("confidence"), r.reliabilityConfidence());
    doubles(rel.putArray("accuracy"), r.reliabilityAccuracy());

    ObjectNode hist = root.putObject("histograms");
    histogram(hist.putObject("entropy"), r.histogramEdgesEntropy(), r.entropyTest(), r.entropyOod());
    histogram(hist.putObject("mutual_information"), r.histogramEdgesMi(), r.miTest(), r.miOod());

    if (r.rocEntropy() != null || r.rocMi() != null) {
      ObjectNode roc = root.putObject("roc");
      curve(roc, "entropy", r.rocEntropy());
      curve(roc, "mutual_information", r.rocMi());
    }
    if (!r.shifts().isEmpty()) {
      ObjectNode shift = root.putObject("shift");
      for (EvaluationReport.Shift s : r.shifts()) {
        ObjectNode n = shift.putObject(s.name());
        n.put("table", s.table());
        n.put("rows", s.rows());
        n.set("ensemble", metrics(s.ensemble()));
        n.set("member_mean", metrics(s.memberMean()));
      }
    }
    ObjectNode provenance = root.putObject("provenance");
    for (java.util.Map.Entry<String, Object> e : r.provenance().entrySet()) {
      try {
        provenance.set(e.getKey(), MAPPER.valueToTree(e.getValue()));
      } catch (IllegalArgumentException cannot) {
        throw new InvalidInputException("provenance entry \"" + e.getKey() + "\" holds a "
            + e.getValue().getClass().getName() + " that cannot be written as JSON: give strings, numbers, "
            + "booleans, lists or maps", cannot);
      }
    }
    return root;
  }

  private static ObjectNode metrics(MetricSet m) {
    ObjectNode n = MAPPER.createObjectNode();
    n.put("accuracy", m.accuracy());
    n.put("nll", m.nll());
    n.put("brier", m.brier());
    n.put("ece", m.ece());
    if (m.hasOod()) {
      n.put("auroc_entropy", m.aurocEntropy());
      if (m.hasAurocMi()) {
        n.put("auroc_mi", m.aurocMi());
      } else {
        n.putNull("auroc_mi"); // a member without Monte Carlo passes: its mutual information is 0 on every row
      }
      n.put("aupr_entropy", m.auprEntropy());
    }
    return n;
  }

  private static void histogram(ObjectNode n, double[] edges, long[] test, long[] ood) {
    doubles(n.putArray("edges"), edges);
    longs(n.putArray("test"), test);
    if (ood == null) {
      n.putNull("ood");
    } else {
      longs(n.putArray("ood"), ood);
    }
  }

  private static void curve(ObjectNode roc, String name, Curve c) {
    if (c == null) {
      return;
    }
    ObjectNode n = roc.putObject(name);
    doubles(n.putArray("fpr"), c.x());
    doubles(n.putArray("tpr"), c.y());
  }

  private static void doubles(ArrayNode a, double[] values) {
    for (double v : values) {
      a.add(v);
    }
  }

  private static void longs(ArrayNode a, long[] values) {
    for (long v : values) {
      a.add(v);
    }
  }
}
