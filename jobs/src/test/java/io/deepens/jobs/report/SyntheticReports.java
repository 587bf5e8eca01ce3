package io.deepens.jobs.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small synthetic reports, shaped like a 3-member ensemble evaluated on Fashion-MNIST with MNIST as OOD. */
final class SyntheticReports {

  private SyntheticReports() {}

  static EvaluationReport withOod() {
    return build(true);
  }

  static EvaluationReport withoutOod() {
    return build(false);
  }

  private static EvaluationReport build(boolean ood) {
    List<MetricSet> members = List.of(
        metrics(0.8812, 0.3391, 0.1745, 0.0213, 0.7712, 0.5000, 0.7301, ood),
        metrics(0.8790, 0.3456, 0.1771, 0.0251, 0.7650, 0.5000, 0.7255, ood),
        metrics(0.8834, 0.3322, 0.1730, 0.0198, 0.7801, 0.5000, 0.7402, ood));
    // the ensemble is best on every column except ECE, where member 2 wins
    MetricSet ensemble = metrics(0.8923, 0.3011, 0.1589, 0.0205, 0.8125, 0.8433, 0.7919, ood);

    int bins = 15;
    double[] lower = new double[bins];
    double[] upper = new double[bins];
    long[] count = new long[bins];
    double[] confidence = new double[bins];
    double[] accuracy = new double[bins];
    for (int i = 0; i < bins; i++) {
      lower[i] = (double) i / bins;
      upper[i] = (double) (i + 1) / bins;
      count[i] = i < 2 ? 0 : (long) (20 * Math.exp(0.35 * i));
      confidence[i] = count[i] == 0 ? 0 : (lower[i] + upper[i]) / 2 + 0.004;
      accuracy[i] = count[i] == 0 ? 0 : Math.min(1.0, confidence[i] - 0.03 + 0.002 * i);
    }

    int hbins = 20;
    double[] edgesH = new double[hbins + 1];
    double[] edgesMi = new double[hbins + 1];
    long[] hTest = new long[hbins];
    long[] hOod = new long[hbins];
    long[] miTest = new long[hbins];
    long[] miOod = new long[hbins];
    for (int i = 0; i <= hbins; i++) {
      edgesH[i] = Math.log(10) * i / hbins;
      edgesMi[i] = 0.5 * i / hbins;
    }
    for (int i = 0; i < hbins; i++) {
      hTest[i] = Math.round(4000 * Math.exp(-0.45 * i));
      hOod[i] = Math.round(900 * Math.exp(-Math.pow((i - 11) / 4.0, 2)));
      miTest[i] = Math.round(6000 * Math.exp(-0.9 * i));
      miOod[i] = Math.round(1200 * Math.exp(-Math.pow((i - 6) / 4.0, 2)));
    }

    Curve rocH = null;
    Curve rocMi = null;
    if (ood) {
      int points = 51;
      double[] fpr = new double[points];
      double[] tprH = new double[points];
      double[] tprMi = new double[points];
      for (int i = 0; i < points; i++) {
        fpr[i] = (double) i / (points - 1);
        tprH[i] = Math.pow(fpr[i], 0.30);
        tprMi[i] = Math.pow(fpr[i], 0.22);
      }
      rocH = new Curve(fpr, tprH);
      rocMi = new Curve(fpr, tprMi);
    }

    Map<String, Object> provenance = new LinkedHashMap<>();
    provenance.put("deepens", "0.1.0-SNAPSHOT");
    provenance.put("java", "17.0.15");
    provenance.put("test_table", "file:///data/fashion-mnist/test");
    provenance.put("seed", 42);
    provenance.put("note", "<synthetic & escaped>");

    double[] weights = {0.3, 0.3, 0.4};
    return new EvaluationReport("file:///store/fashion", "v-20261127-0001", 10_000L, ood ? 10_000L : null,
        ensemble, members, weights, 1 / (0.09 + 0.09 + 0.16), ood ? 1.137 : null,
        lower, upper, count, confidence, accuracy,
        edgesH, hTest, ood ? hOod : null, edgesMi, miTest, ood ? miOod : null,
        rocH, rocMi, provenance);
  }

  private static MetricSet metrics(double acc, double nll, double brier, double ece,
                                   double aurocH, double aurocMi, double auprH, boolean ood) {
    return ood ? new MetricSet(acc, nll, brier, ece, aurocH, aurocMi, auprH) : MetricSet.inDistribution(acc, nll, brier, ece);
  }
}
