package io.deepens.jobs.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Renders index.html: one self-contained page (inline CSS, no script, no network) that links the PNG charts
 * written beside it. Every number shown in a table cell carries its exact value in a {@code data-value}
 * attribute ({@link Double#toString}), so the page can be checked against metrics.json by a machine.
 */
final class ReportPage {

  /** A metrics column: its title, its metrics.json key, how to read it, and whether larger is better. */
  private record Column(String title, String key, Function<MetricSet, Double> value, boolean higherIsBetter) {}

  private static final List<Column> BASE_COLUMNS = List.of(
      new Column("accuracy", "accuracy", MetricSet::accuracy, true),
      new Column("NLL", "nll", MetricSet::nll, false),
      new Column("Brier", "brier", MetricSet::brier, false),
      new Column("ECE", "ece", MetricSet::ece, false));
  private static final List<Column> OOD_COLUMNS = List.of(
      new Column("AUROC (entropy)", "auroc_entropy", MetricSet::aurocEntropy, true),
      new Column("AUROC (MI)", "auroc_mi", MetricSet::aurocMi, true),
      new Column("AUPR (entropy)", "aupr_entropy", MetricSet::auprEntropy, true));

  private static final String CSS = """
      body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
             padding: 0 1em; color: #222; line-height: 1.45; }
      h1 { font-size: 1.6em; margin-bottom: 0.2em; }
      h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
      table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; }
      th, td { border: 1px solid #d0d0d0; padding: 0.3em 0.7em; text-align: right; }
      th { background: #f3f3f3; }
      td.name, th.name { text-align: left; }
      tr.ensemble td { border-top: 2px solid #888; font-weight: 600; }
      td.best { background: #d9f2d9; font-weight: 700; }
      dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
      dl.facts dt { font-weight: 600; }
      dl.facts dd { margin: 0; font-family: monospace; }
      figure { margin: 1em 0; }
      figure img { max-width: 100%; border: 1px solid #e0e0e0; }
      figcaption { color: #555; font-size: 0.92em; max-width: 720px; }
      .note { color: #555; font-size: 0.92em; }
      """;

  private ReportPage() {}

  static String render(EvaluationReport r, Map<String, String> charts) {
    StringBuilder h = new StringBuilder(16_384);
    h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<title>deepens evaluation: ").append(esc(r.ensembleUri())).append(" ").append(esc(r.version()))
        .append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
    h.append("<h1>Evaluation report</h1>\n<dl class=\"facts\">\n");
    fact(h, "ensemble", esc(r.ensembleUri()));
    fact(h, "version", esc(r.version()));
    fact(h, "test rows", number("test-rows", r.testRows()));
    fact(h, "out-of-distribution rows", r.hasOod() ? number("ood-rows", r.oodRows()) : "none (no --ood table)");
    fact(h, "members", String.valueOf(r.members().size()));
    fact(h, "effective members", number("effective-members", r.effectiveMembers()));
    fact(h, "temperature", r.temperature() == null ? "not fitted" : number("temperature", r.temperature()));
    h.append("</dl>\n");

    metricsTable(h, r);
    shiftTable(h, r);
    figures(h, r, charts);
    reliabilityTable(h, r);
    provenance(h, r);
    h.append("<p class=\"note\">Numbers: metrics.json beside this page holds every value at full precision.</p>\n");
    h.append("</body>\n</html>\n");
    return h.toString();
  }

  private static void metricsTable(StringBuilder h, EvaluationReport r) {
    List<Column> columns = new ArrayList<>(BASE_COLUMNS);
    if (r.hasOod()) {
      columns.addAll(OOD_COLUMNS);
    }
    List<MetricSet> rows = new ArrayList<>(r.members());
    rows.add(r.ensemble());
    double[] best = new double[columns.size()];
    for (int c = 0; c < columns.size(); c++) {
      Column col = columns.get(c);
      best[c] = Double.NaN;
      for (MetricSet row : rows) {
        Double boxed = col.value().apply(row);
        double v = boxed == null ? Double.NaN : boxed;
        if (!Double.isNaN(v) && (Double.isNaN(best[c]) || (col.higherIsBetter() ? v > best[c] : v < best[c]))) {
          best[c] = v;
        }
      }
    }

    h.append("<h2>Metrics</h2>\n<table id=\"metrics\">\n<tr><th class=\"name\">predictor</th><th>weight</th>");
    for (Column col : columns) {
      h.append("<th title=\"").append(col.higherIsBetter() ? "higher is better" : "lower is better").append("\">")
          .append(esc(col.title())).append(col.higherIsBetter() ? " &uarr;" : " &darr;").append("</th>");
    }
    h.append("</tr>\n");
    for (int i = 0; i < rows.size(); i++) {
      boolean isEnsemble = i == rows.size() - 1;
      String rowId = isEnsemble ? "ensemble" : "member-" + i;
      h.append(isEnsemble ? "<tr class=\"ensemble\" id=\"ensemble\">" : "<tr id=\"" + rowId + "\">");
      h.append("<td class=\"name\">").append(isEnsemble ? "ensemble" : String.format(Locale.ROOT, "member %d", i))
          .append("</td>");
      if (isEnsemble) {
        h.append("<td>&nbsp;</td>");
      } else {
        cell(h, rowId + ".weight", r.weights()[i], false);
      }
      for (int c = 0; c < columns.size(); c++) {
        Double v = columns.get(c).value().apply(rows.get(i));
        if (v == null) {
          h.append("<td data-key=\"").append(rowId).append('.').append(columns.get(c).key())
              .append("\" title=\"undefined: without Monte Carlo dropout passes a member's mutual information is 0 "
                  + "on every row\">n/a</td>");
        } else {
          cell(h, rowId + "." + columns.get(c).key(), v, v == best[c]);
        }
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n<p class=\"note\">The best value of each column is highlighted. NLL in nats; Brier summed "
        + "over classes; ECE over the reliability bins below");
    if (r.hasOod()) {
      h.append("; AUROC/AUPR treat out-of-distribution rows as positives");
    }
    h.append(".</p>\n");
  }

  /** The ensemble against its average member on each dataset-shift table, after the test table's row. */
  private static void shiftTable(StringBuilder h, EvaluationReport r) {
    if (r.shifts().isEmpty()) {
      return;
    }
    h.append("<h2>Dataset shift</h2>\n<table id=\"shift\">\n<tr><th class=\"name\">table</th><th>rows</th>"
        + "<th>accuracy &uarr;</th><th>NLL &darr;</th><th>Brier &darr;</th><th>ECE &darr;</th>"
        + "<th>member mean accuracy &uarr;</th><th>member mean NLL &darr;</th></tr>\n");
    shiftRow(h, "test (no shift)", r.testRows(), r.ensemble(), MetricSet.meanOf(r.members()));
    for (EvaluationReport.Shift s : r.shifts()) {
      shiftRow(h, s.name(), s.rows(), s.ensemble(), s.memberMean());
    }
    h.append("</table>\n<p class=\"note\">The ensemble's metrics on each labelled table given with "
        + "<code>--shift NAME=URI</code> (the same classes, shifted or corrupted inputs), beside the mean of its "
        + "members' metrics. A model whose uncertainty can be trusted loses accuracy under shift while its NLL and "
        + "ECE grow slowly (Ovadia et al. 2019).</p>\n");
  }

  private static void shiftRow(StringBuilder h, String name, long rows, MetricSet e, MetricSet mean) {
    h.append("<tr><td class=\"name\">").append(esc(name)).append("</td><td>").append(rows).append("</td>");
    for (double v : new double[] {e.accuracy(), e.nll(), e.brier(), e.ece(), mean.accuracy(), mean.nll()}) {
      h.append("<td>").append(String.format(java.util.Locale.ROOT, "%.4f", v)).append("</td>");
    }
    h.append("</tr>\n");
  }

  private static void figures(StringBuilder h, EvaluationReport r, Map<String, String> charts) {
    h.append("<h2>Calibration</h2>\n");
    figure(h, charts.get(ReportWriter.RELIABILITY_PNG), "Reliability diagram",
        "Accuracy of the ensemble per confidence bin against the bin's mean confidence; a calibrated model lies on "
            + "the diagonal. Empty bins are not drawn.");
    h.append("<h2>Uncertainty</h2>\n");
    String versus = r.hasOod() ? " for test rows and out-of-distribution rows" : " for test rows (no OOD table given)";
    figure(h, charts.get(ReportWriter.ENTROPY_PNG), "Histogram of predictive entropy",
        "Predictive entropy (total uncertainty, nats) of the ensemble mixture" + versus
            + ", as the fraction of each set's rows per bin.");
    figure(h, charts.get(ReportWriter.MI_PNG), "Histogram of mutual information",
        "Mutual information (epistemic uncertainty, nats: predictive entropy minus the members' mean entropy)"
            + versus + ", as the fraction of each set's rows per bin.");
    if (charts.containsKey(ReportWriter.ROC_PNG)) {
      h.append("<h2>Out-of-distribution detection</h2>\n");
      figure(h, charts.get(ReportWriter.ROC_PNG), "ROC curves",
          "Telling out-of-distribution rows (positives) from test rows by thresholding an uncertainty score.");
    }
  }

  private static void reliabilityTable(StringBuilder h, EvaluationReport r) {
    h.append("<h2>Reliability bins</h2>\n<table id=\"reliability\">\n")
        .append("<tr><th>confidence from</th><th>to</th><th>rows</th><th>mean confidence</th><th>accuracy</th></tr>\n");
    for (int i = 0; i < r.reliabilityCount().length; i++) {
      String id = "bin-" + i;
      h.append("<tr>");
      cell(h, id + ".lower", r.reliabilityBinLower()[i], false);
      cell(h, id + ".upper", r.reliabilityBinUpper()[i], false);
      h.append("<td data-key=\"").append(id).append(".count\" data-value=\"").append(r.reliabilityCount()[i])
          .append("\">").append(r.reliabilityCount()[i]).append("</td>");
      if (r.reliabilityCount()[i] == 0) {
        h.append("<td>&ndash;</td><td>&ndash;</td>");
      } else {
        cell(h, id + ".confidence", r.reliabilityConfidence()[i], false);
        cell(h, id + ".accuracy", r.reliabilityAccuracy()[i], false);
      }
      h.append("</tr>\n");
    }
    h.append("</table>\n");
  }

  private static void provenance(StringBuilder h, EvaluationReport r) {
    if (r.provenance().isEmpty()) {
      return;
    }
    h.append("<h2>Provenance</h2>\n<dl class=\"facts\">\n");
    for (Map.Entry<String, Object> e : r.provenance().entrySet()) {
      fact(h, esc(e.getKey()), esc(String.valueOf(e.getValue())));
    }
    h.append("</dl>\n");
  }

  private static void figure(StringBuilder h, String file, String alt, String caption) {
    if (file == null) {
      return;
    }
    h.append("<figure><img src=\"").append(esc(file)).append("\" alt=\"").append(esc(alt)).append("\" width=\"")
        .append(ReportCharts.WIDTH).append("\" height=\"").append(ReportCharts.HEIGHT).append("\">")
        .append("<figcaption>").append(esc(caption)).append("</figcaption></figure>\n");
  }

  private static void fact(StringBuilder h, String term, String html) {
    h.append("<dt>").append(term).append("</dt><dd>").append(html).append("</dd>\n");
  }

  private static void cell(StringBuilder h, String key, double value, boolean best) {
    h.append(best ? "<td class=\"best\"" : "<td").append(" data-key=\"").append(key).append("\" data-value=\"")
        .append(value).append("\">").append(display(value)).append("</td>");
  }

  private static String number(String key, double value) {
    return "<span data-key=\"" + key + "\" data-value=\"" + value + "\">" + display(value) + "</span>";
  }

  private static String number(String key, long value) {
    return "<span data-key=\"" + key + "\" data-value=\"" + value + "\">" + String.format(Locale.ROOT, "%,d", value)
        + "</span>";
  }

  /** Four decimals, the way values are shown; non-finite values as words. */
  static String display(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "&infin;" : "&minus;&infin;";
    }
    return String.format(Locale.ROOT, "%.4f", value);
  }

  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
