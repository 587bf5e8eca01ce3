package io.deepens.jobs.report;

import io.deepens.core.InvalidInputException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything an evaluation report shows, as plain data computed elsewhere.
 *
 * <p>Out-of-distribution parts ({@code oodRows}, the AUROC/AUPR fields of every {@link MetricSet},
 * {@code entropyOod}, {@code miOod}, {@code rocEntropy}, {@code rocMi}) are all null when the evaluation had no
 * OOD table; {@code oodRows} decides which case holds and the constructor checks the rest agrees.
 *
 * <p>Reliability diagram: bin {@code i} covers confidences {@code (reliabilityBinLower[i], reliabilityBinUpper[i]]}
 * and holds {@code reliabilityCount[i]} test rows whose mean top-class probability is
 * {@code reliabilityConfidence[i]} and whose accuracy is {@code reliabilityAccuracy[i]} (ignored when the count
 * is 0). Histograms: {@code histogramEdgesEntropy} has one more element than {@code entropyTest}; bin {@code i}
 * counts rows with predictive entropy in {@code [edges[i], edges[i+1])}; the same for mutual information.
 *
 * <p>Arrays are copied in; treat the arrays the accessors return as read-only.
 *
 * @param ensembleUri the ensemble store the report is about
 * @param version the ensemble version evaluated
 * @param testRows number of labelled test rows
 * @param oodRows number of out-of-distribution rows, null without an OOD table
 * @param ensemble metrics of the weighted mixture
 * @param members metrics of each member, in member order
 * @param weights mixture weight of each member
 * @param effectiveMembers effective number of members, {@code 1 / sum w_m^2}
 * @param temperature fitted temperature, null when none was fitted
 * @param provenance free-form provenance (versions, seeds, data fingerprints); serialised with Jackson
 * @param shifts metrics on labelled tables under dataset shift ({@code evaluate --shift NAME=URI}), in the order
 *     given; empty when none
 */
public record EvaluationReport(String ensembleUri, String version, long testRows, Long oodRows,
    MetricSet ensemble, List<MetricSet> members, double[] weights, double effectiveMembers, Double temperature,
    double[] reliabilityBinLower, double[] reliabilityBinUpper, long[] reliabilityCount,
    double[] reliabilityConfidence, double[] reliabilityAccuracy,
    double[] histogramEdgesEntropy, long[] entropyTest, long[] entropyOod,
    double[] histogramEdgesMi, long[] miTest, long[] miOod,
    Curve rocEntropy, Curve rocMi, Map<String, Object> provenance, List<Shift> shifts) {

  /**
   * The ensemble's and its members' metrics on one labelled table under dataset shift (Ovadia et al. 2019: the same
   * classes, corrupted or drifted inputs).
   *
   * @param name the name given on the command line
   * @param table the table's URI
   * @param rows number of rows evaluated
   * @param ensemble metrics of the mixture
   * @param memberMean mean over members of each member's metrics
   */
  public record Shift(String name, String table, long rows, MetricSet ensemble, MetricSet memberMean) {
    public Shift {
      InvalidInputException.check(name != null && !name.isBlank(), "EvaluationReport.Shift: name is required");
      InvalidInputException.check(ensemble != null && memberMean != null,
          "EvaluationReport.Shift %s: ensemble and member-mean metrics are required", name);
    }
  }

  /** A report without dataset-shift tables. */
  public EvaluationReport(String ensembleUri, String version, long testRows, Long oodRows,
      MetricSet ensemble, List<MetricSet> members, double[] weights, double effectiveMembers, Double temperature,
      double[] reliabilityBinLower, double[] reliabilityBinUpper, long[] reliabilityCount,
      double[] reliabilityConfidence, double[] reliabilityAccuracy,
      double[] histogramEdgesEntropy, long[] entropyTest, long[] entropyOod,
      double[] histogramEdgesMi, long[] miTest, long[] miOod,
      Curve rocEntropy, Curve rocMi, Map<String, Object> provenance) {
    this(ensembleUri, version, testRows, oodRows, ensemble, members, weights, effectiveMembers, temperature,
        reliabilityBinLower, reliabilityBinUpper, reliabilityCount, reliabilityConfidence, reliabilityAccuracy,
        histogramEdgesEntropy, entropyTest, entropyOod, histogramEdgesMi, miTest, miOod, rocEntropy, rocMi,
        provenance, List.of());
  }

  public EvaluationReport {
    InvalidInputException.check(ensembleUri != null && !ensembleUri.isBlank(), "EvaluationReport: ensembleUri is required");
    InvalidInputException.check(version != null && !version.isBlank(), "EvaluationReport: version is required");
    InvalidInputException.check(testRows >= 0, "EvaluationReport: testRows must be non-negative, found %d", testRows);
    InvalidInputException.check(oodRows == null || oodRows >= 0,
        "EvaluationReport: oodRows must be non-negative, found %d", oodRows);
    InvalidInputException.check(ensemble != null, "EvaluationReport: ensemble metrics are required");
    InvalidInputException.check(members != null && !members.isEmpty(), "EvaluationReport: at least one member is required");
    members = List.copyOf(members);
    InvalidInputException.check(weights != null && weights.length == members.size(),
        "EvaluationReport: weights must have one entry per member (%d), found %s",
        members.size(), weights == null ? "null" : String.valueOf(weights.length));
    InvalidInputException.check(temperature == null || temperature > 0,
        "EvaluationReport: temperature must be positive, found %s", temperature);

    boolean ood = oodRows != null;
    InvalidInputException.check(ensemble.hasOod() == ood,
        "EvaluationReport: ensemble OOD metrics must be set exactly when oodRows is set (oodRows = %s)", oodRows);
    for (int m = 0; m < members.size(); m++) {
      InvalidInputException.check(members.get(m).hasOod() == ood,
          "EvaluationReport: member %d OOD metrics must be set exactly when oodRows is set (oodRows = %s)", m, oodRows);
    }

    int bins = length(reliabilityBinLower, "reliabilityBinLower");
    InvalidInputException.check(bins > 0, "EvaluationReport: the reliability diagram needs at least one bin");
    sameLength(bins, length(reliabilityBinUpper, "reliabilityBinUpper"), "reliabilityBinUpper");
    sameLength(bins, length(reliabilityCount, "reliabilityCount"), "reliabilityCount");
    sameLength(bins, length(reliabilityConfidence, "reliabilityConfidence"), "reliabilityConfidence");
    sameLength(bins, length(reliabilityAccuracy, "reliabilityAccuracy"), "reliabilityAccuracy");

    checkHistogram("entropy", histogramEdgesEntropy, entropyTest, entropyOod, ood);
    checkHistogram("mutual information", histogramEdgesMi, miTest, miOod, ood);
    InvalidInputException.check(ood || (rocEntropy == null && rocMi == null),
        "EvaluationReport: ROC curves need an OOD table, but oodRows is null");

    weights = weights.clone();
    reliabilityBinLower = reliabilityBinLower.clone();
    reliabilityBinUpper = reliabilityBinUpper.clone();
    reliabilityCount = reliabilityCount.clone();
    reliabilityConfidence = reliabilityConfidence.clone();
    reliabilityAccuracy = reliabilityAccuracy.clone();
    histogramEdgesEntropy = histogramEdgesEntropy.clone();
    entropyTest = entropyTest.clone();
    entropyOod = entropyOod == null ? null : entropyOod.clone();
    histogramEdgesMi = histogramEdgesMi.clone();
    miTest = miTest.clone();
    miOod = miOod == null ? null : miOod.clone();
    provenance = provenance == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(provenance));
    shifts = shifts == null ? List.of() : List.copyOf(shifts);
  }

  /** Whether the evaluation had an out-of-distribution table. */
  public boolean hasOod() {
    return oodRows != null;
  }

  private static int length(Object array, String name) {
    InvalidInputException.check(array != null, "EvaluationReport: %s is required", name);
    return java.lang.reflect.Array.getLength(array);
  }

  private static void sameLength(int expected, int found, String name) {
    InvalidInputException.check(expected == found,
        "EvaluationReport: %s must have one entry per reliability bin (%d), found %d", name, expected, found);
  }

  private static void checkHistogram(String what, double[] edges, long[] test, long[] oodCounts, boolean ood) {
    InvalidInputException.check(edges != null && test != null, "EvaluationReport: %s histogram edges and test counts are required", what);
    InvalidInputException.check(edges.length == test.length + 1 && test.length > 0,
        "EvaluationReport: %s histogram needs bins + 1 edges, found %d edges for %d bins", what, edges.length, test.length);
    for (int i = 1; i < edges.length; i++) {
      InvalidInputException.check(edges[i] > edges[i - 1],
          "EvaluationReport: %s histogram edges must increase, found %s then %s at index %d", what, edges[i - 1], edges[i], i);
    }
    InvalidInputException.check((oodCounts != null) == ood,
        "EvaluationReport: %s OOD counts must be set exactly when oodRows is set", what);
    InvalidInputException.check(oodCounts == null || oodCounts.length == test.length,
        "EvaluationReport: %s OOD counts must have %d bins like the test counts, found %d", what, test.length,
        oodCounts == null ? 0 : oodCounts.length);
  }
}
