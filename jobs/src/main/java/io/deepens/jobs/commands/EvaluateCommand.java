package io.deepens.jobs.commands;

import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.weighting.EnsembleDiagnostics;
import io.deepens.core.metrics.ReliabilityDiagram;
import io.deepens.core.metrics.RocCurve;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.cli.EnsembleRef;
import io.deepens.jobs.cli.Tables;
import io.deepens.jobs.report.Curve;
import io.deepens.jobs.report.EvaluationReport;
import io.deepens.jobs.report.MetricSet;
import io.deepens.jobs.report.ReportWriter;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.evaluate.SparkEvaluator;
import io.deepens.spark.score.EnsembleScorer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** {@code evaluate}: metrics of the ensemble and each member on a test table (and OOD detection), plus a report. */
public final class EvaluateCommand implements Command {
  @Override
  public String name() {
    return "evaluate";
  }

  @Override
  public String summary() {
    return "accuracy, NLL, Brier, ECE and OOD detection of an ensemble and its members, with an HTML report";
  }

  @Override
  public String usage() {
    return """
        usage: deepens evaluate --ensemble STORE[#VERSION] --test URI [--ood URI] --report DIR [options]

          --ensemble STORE[#V]   store and version (default: the version LATEST names)
          --test URI             labelled test table
          --ood URI              out-of-distribution table (labels ignored): adds AUROC/AUPR of entropy and MI
          --shift NAME=URI       a labelled table under dataset shift (same classes, corrupted or drifted inputs):
                                 accuracy, NLL, Brier, ECE of the ensemble and its mean member on it, under
                                 shift.NAME in metrics.json and in the report (repeatable)
          --report DIR           folder for metrics.json, index.html and the PNG charts: local, or a URI
                                 (hdfs://, s3a://; in YARN cluster mode the driver's local disk is a container's)
          --format F             format of the tables; default from the extension, else parquet
          --batch-size N         rows per forward pass (default 2048)
          --master URL           Spark master (default: spark-submit's, else local[*])
          --conf K=V             extra Spark configuration (repeatable)""";
  }

  @Override
  public Set<String> options() {
    return Set.of("ensemble", "test", "ood", "shift", "report", "format", "batch-size", "master", "conf");
  }

  @Override
  public ExitCode run(Args a) throws Exception {
    EnsembleRef ref = EnsembleRef.parse(a.require("ensemble"));
    String test = a.require("test");
    String ood = a.get("ood");
    String reportDir = a.require("report");
    Map<String, String> shiftTables = shifts(a.all("shift"));
    int batch = a.getInt("batch-size") == null ? EnsembleScorer.DEFAULT_BATCH : a.getInt("batch-size");
    SparkSession spark = SparkSessions.getOrCreate(a.get("master"), "deepens evaluate", a.confs());
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, ref.store(), ref.version());
    Dataset<Row> testDf = Tables.read(spark, test, a.get("format"));
    Dataset<Row> oodDf = ood == null ? null : Tables.read(spark, ood, a.get("format"));
    SparkEvaluator evaluator = new SparkEvaluator(scorer, batch);
    SparkEvaluator.Evaluation e = evaluator.evaluate(testDf, oodDf);
    List<EvaluationReport.Shift> shifted = new ArrayList<>();
    for (Map.Entry<String, String> s : shiftTables.entrySet()) {
      SparkEvaluator.Evaluation se = evaluator.evaluate(Tables.read(spark, s.getValue(), a.get("format")), null);
      List<MetricSet> members = new ArrayList<>();
      for (ClassificationMetrics m : se.members()) {
        members.add(metricSet(m, false, Double.NaN, null, Double.NaN));
      }
      shifted.add(new EvaluationReport.Shift(s.getKey(), s.getValue(), se.testRows(),
          metricSet(se.ensemble(), false, Double.NaN, null, Double.NaN), MetricSet.meanOf(members)));
    }
    EvaluationReport report = toReport(ref.store(), e, test, ood, a.argv(), shifted);
    String written = ReportWriter.write(report, reportDir, spark.sparkContext().hadoopConfiguration());
    printTable(report, System.out);
    Outcome.set("evaluated {} version {} on {} test rows{}; report in {}", ref.store(),
        e.manifest().version(), e.testRows(), ood == null ? "" : " and " + e.oodRows() + " OOD rows",
        written);
    return ExitCode.OK;
  }

  /**
   * The {@code --shift NAME=URI} options, by name in the order given.
   *
   * @throws InvalidInputException for a value without a name or URI, or a name given twice
   */
  static Map<String, String> shifts(List<String> values) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String v : values) {
      int eq = v.indexOf('=');
      InvalidInputException.check(eq > 0 && eq < v.length() - 1,
          "evaluate: --shift takes NAME=URI (e.g. --shift rotate-30=data/fm-shift/rotate-30), found '%s'", v);
      String name = v.substring(0, eq).trim();
      InvalidInputException.check(name.matches("[A-Za-z0-9._-]+"),
          "evaluate: --shift name '%s' must be letters, digits, '.', '_' or '-' (it becomes a key of metrics.json)",
          name);
      InvalidInputException.check(out.put(name, v.substring(eq + 1).trim()) == null,
          "evaluate: --shift name '%s' is given twice; give each shifted table its own name", name);
    }
    return out;
  }

  static EvaluationReport toReport(String store, SparkEvaluator.Evaluation e, String test, String ood,
      List<String> argv) {
    return toReport(store, e, test, ood, argv, List.of());
  }

  static EvaluationReport toReport(String store, SparkEvaluator.Evaluation e, String test, String ood,
      List<String> argv, List<EvaluationReport.Shift> shifted) {
    boolean hasOod = ood != null;
    MetricSet ens = metricSet(e.ensemble(), hasOod, e.aurocEntropy(), e.aurocMi(), e.auprEntropy());
    List<MetricSet> members = new ArrayList<>();
    for (int k = 0; k < e.members().length; k++) {
      // A member's own mutual information is over its Monte Carlo dropout passes; without passes it is 0 on every
      // row and its AUROC undefined: null in the report, not the 0.5 of a constant score.
      Double mi = e.memberAurocMi() == null ? null : e.memberAurocMi()[k];
      members.add(metricSet(e.members()[k], hasOod, e.memberAurocEntropy()[k], mi, e.memberAuprEntropy()[k]));
    }
    ReliabilityDiagram rd = e.ensemble().reliability();
    Map<String, Object> provenance = new LinkedHashMap<>(Provenance.of("evaluate", argv));
    provenance.put("test", test);
    provenance.put("ood", ood);
    provenance.put("aurocMethod", e.exactAuroc() ? "exact" : "binned (max error " + e.aurocMaxError() + ")");
    provenance.put("runId", e.manifest().runId());
    provenance.put("trainingData", e.manifest().data());
    double temperature = e.manifest().temperature();
    // Mutual information rarely approaches its bound log K: show the histogram up to its last non-empty bin.
    int used = Math.max(lastNonEmpty(e.miTest().counts()), hasOod ? lastNonEmpty(e.miOod().counts()) : 0) + 2;
    used = Math.min(Math.max(used, 6), e.miTest().edges().length);
    return new EvaluationReport(store, e.manifest().version(), e.testRows(), hasOod ? e.oodRows() : null, ens,
        members, e.manifest().weights(), EnsembleDiagnostics.effectiveMembers(e.manifest().weights()),
        temperature == 1.0 ? null : temperature,
        rd.binLower(), rd.binUpper(), rd.count(), rd.meanConfidence(), rd.accuracy(),
        e.entropyTest().edges(), e.entropyTest().counts(), hasOod ? e.entropyOod().counts() : null,
        crop(e.miTest().edges(), used), crop(e.miTest().counts(), used - 1),
        hasOod ? crop(e.miOod().counts(), used - 1) : null,
        hasOod ? curve(e.rocEntropy()) : null, hasOod ? curve(e.rocMi()) : null, provenance, shifted);
  }

  private static int lastNonEmpty(long[] counts) {
    int last = 0;
    for (int i = 0; i < counts.length; i++) {
      if (counts[i] > 0) {
        last = i;
      }
    }
    return last;
  }

  private static double[] crop(double[] a, int n) {
    return java.util.Arrays.copyOf(a, n);
  }

  private static long[] crop(long[] a, int n) {
    return java.util.Arrays.copyOf(a, n);
  }


  private static Curve curve(RocCurve c) {
    return new Curve(c.fpr(), c.tpr());
  }

  private static MetricSet metricSet(ClassificationMetrics m, boolean ood, double aurocE, Double aurocMi,
      double auprE) {
    return new MetricSet(m.accuracy(), m.nll(), m.brier(), m.ece(), ood ? aurocE : null, ood ? aurocMi : null,
        ood ? auprE : null);
  }

  /** The console table: every member, their mean, and the ensemble. */
  static void printTable(EvaluationReport r, PrintStream out) {
    boolean ood = r.hasOod();
    out.println();
    out.printf(Locale.ROOT, "%-12s %9s %9s %9s %9s%s%n", "", "accuracy", "NLL", "Brier", "ECE",
        ood ? String.format(Locale.ROOT, " %13s %10s", "AUROC(ent)", "AUROC(MI)") : "");
    for (int k = 0; k < r.members().size(); k++) {
      row(out, "member " + k, r.members().get(k), ood);
    }
    row(out, "ensemble", r.ensemble(), ood);
    out.printf(Locale.ROOT, "(%d test rows%s; %d members, effective %.2f%s)%n", r.testRows(),
        ood ? ", " + r.oodRows() + " OOD rows" : "", r.members().size(), r.effectiveMembers(),
        r.temperature() == null ? "" : String.format(Locale.ROOT, ", temperature %.3f", r.temperature()));
    if (ood && r.members().stream().anyMatch(m -> !m.hasAurocMi())) {
      out.println("(AUROC(MI) n/a: a member without Monte Carlo dropout passes has mutual information 0 on every row)");
    }
    if (!r.shifts().isEmpty()) {
      out.println();
      out.printf(Locale.ROOT, "%-20s %8s %9s %9s %9s %9s %12s%n", "dataset shift", "rows", "accuracy", "NLL", "Brier",
          "ECE", "member NLL");
      for (EvaluationReport.Shift s : r.shifts()) {
        out.printf(Locale.ROOT, "%-20s %8d %9.4f %9.4f %9.4f %9.4f %12.4f%n", s.name(), s.rows(),
            s.ensemble().accuracy(), s.ensemble().nll(), s.ensemble().brier(), s.ensemble().ece(),
            s.memberMean().nll());
      }
    }
  }

  private static void row(PrintStream out, String name, MetricSet m, boolean ood) {
    out.printf(Locale.ROOT, "%-12s %9.4f %9.4f %9.4f %9.4f%s%n", name, m.accuracy(), m.nll(), m.brier(), m.ece(),
        ood ? String.format(Locale.ROOT, " %13.4f %10s", m.aurocEntropy(),
            m.hasAurocMi() ? String.format(Locale.ROOT, "%.4f", m.aurocMi()) : "n/a") : "");
  }

}
