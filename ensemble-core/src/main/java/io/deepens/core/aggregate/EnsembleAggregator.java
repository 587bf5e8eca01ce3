package io.deepens.core.aggregate;

import io.deepens.core.InvalidInputException;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.metrics.LogScore;
import io.deepens.core.metrics.RegressionMetrics;
import io.deepens.core.mixture.ClassificationUncertainty;
import io.deepens.core.mixture.PosteriorMixture;
import io.deepens.core.mixture.RegressionUncertainty;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.Task;
import io.deepens.core.weighting.EnsembleDiagnostics;
import io.deepens.core.weighting.PseudoBma;
import io.deepens.core.weighting.Stacking;
import io.deepens.core.weighting.TemperatureScaling;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fits the published mixture on validation predictions: weights as the spec asks (uniform, stacking by EM on the
 * validation log score, or pseudo-BMA with Bayesian-bootstrap regularisation), then optionally a temperature
 * (classification only), and reports validation metrics for the ensemble and every member.
 */
public final class EnsembleAggregator {
  private EnsembleAggregator() {}

  /**
   * @param usedMembers member indices in weight order
   * @param weights mixture weights over {@code usedMembers}
   * @param temperature 1 when none was fitted
   * @param validationMetrics {@code ensemble} and {@code members} metric maps, plus diagnostics
   */
  public record Fit(List<Integer> usedMembers, double[] weights, double temperature,
      Map<String, Object> validationMetrics) {}

  public static Fit fit(EnsembleSpec spec, List<MemberPredictions> members, float[] labels) {
    InvalidInputException.check(!members.isEmpty(), "no member predictions to aggregate");
    int rows = labels.length;
    int m = members.size();
    List<Integer> used = new ArrayList<>();
    int samples = members.get(0).samples();
    for (MemberPredictions p : members) {
      InvalidInputException.check(p.outputs().length == (long) rows * p.width() * p.samples(),
          "member %d gave %d validation outputs, expected %d passes x %d rows x %d", p.member(),
          p.outputs().length, p.samples(), rows, p.width());
      InvalidInputException.check(p.samples() == samples,
          "member %d gave %d Monte Carlo passes, member %d gave %d", p.member(), p.samples(),
          members.get(0).member(), samples);
      used.add(p.member());
    }
    // with MC dropout: every pass is a component of the mixture (weight w_m / S); a member's own predictive
    // distribution, which its weight and its metrics are fitted on, is the mean over its passes
    float[][] comp = new float[m * samples][];
    for (int k = 0; k < m; k++) {
      for (int s = 0; s < samples; s++) {
        comp[k * samples + s] = members.get(k).pass(s, rows);
      }
    }
    boolean classification = spec.task() == Task.CLASSIFICATION;
    double[][] logLik = new double[m][rows];
    float[][] probs = new float[m][];
    float[][] means = new float[m][];
    float[][] vars = new float[m][];
    int[] y = new int[rows];
    for (int i = 0; i < rows; i++) {
      y[i] = Math.round(labels[i]);
    }
    int classes = members.get(0).width();
    for (int k = 0; k < m; k++) {
      float[] out = samples == 1 ? members.get(k).outputs()
          : memberMoments(comp, k, samples, rows, classification);
      if (classification) {
        probs[k] = out;
        for (int i = 0; i < rows; i++) {
          logLik[k][i] = LogScore.of(out[i * classes + y[i]]);
        }
      } else {
        means[k] = new float[rows];
        vars[k] = new float[rows];
        for (int i = 0; i < rows; i++) {
          means[k][i] = out[2 * i];
          vars[k][i] = out[2 * i + 1];
          double v = out[2 * i + 1];
          double d = labels[i] - out[2 * i];
          logLik[k][i] = -0.5 * (Math.log(2 * Math.PI * v) + d * d / v);
        }
      }
    }
    double[] weights;
    switch (spec.ensemble().weighting()) {
      case STACKING -> weights = Stacking.fit(logLik, 10_000, 1e-10).weights();
      case PSEUDO_BMA -> weights = PseudoBma.weights(logLik, true,
          Seeds.derive(spec.ensemble().seed(), 0, SeedPurpose.WEIGHT_BOOTSTRAP, 0), 1000);
      default -> {
        weights = new double[m];
        java.util.Arrays.fill(weights, 1.0 / m);
      }
    }
    double temperature = 1.0;
    if (classification && spec.ensemble().temperature()) {
      double[] componentWeights = new double[m * samples];
      for (int c = 0; c < componentWeights.length; c++) {
        componentWeights[c] = weights[c / samples] / samples;
      }
      temperature = TemperatureScaling.fit(comp, componentWeights, y, rows, classes);
    }
    PosteriorMixture mixture = PosteriorMixture.of(weights).withTemperature(temperature);
    Map<String, Object> metrics = new LinkedHashMap<>();
    List<Map<String, Object>> memberMetrics = new ArrayList<>();
    if (classification) {
      ClassificationUncertainty u = mixture.classify(comp, samples, rows, classes);
      metrics.put("ensemble", classificationMetrics(u.probability(), y, rows, classes));
      int[][] predictions = new int[m][];
      for (int k = 0; k < m; k++) {
        Map<String, Object> mm = new LinkedHashMap<>();
        mm.put("member", used.get(k));
        mm.putAll(classificationMetrics(toDouble(probs[k]), y, rows, classes));
        memberMetrics.add(mm);
        predictions[k] = argmax(probs[k], rows, classes);
      }
      metrics.put("pairwiseDisagreement", EnsembleDiagnostics.pairwiseDisagreement(predictions));
    } else {
      RegressionUncertainty u = mixture.regressInterleaved(comp, samples, rows);
      double[] target = new double[rows];
      for (int i = 0; i < rows; i++) {
        target[i] = labels[i];
      }
      metrics.put("ensemble", regressionMetrics(u.mean(), u.variance(), target, rows));
      for (int k = 0; k < m; k++) {
        Map<String, Object> mm = new LinkedHashMap<>();
        mm.put("member", used.get(k));
        mm.putAll(regressionMetrics(toDouble(means[k]), toDouble(vars[k]), target, rows));
        memberMetrics.add(mm);
      }
    }
    metrics.put("members", memberMetrics);
    metrics.put("rows", rows);
    metrics.put("weighting", spec.ensemble().weighting().name().toLowerCase(java.util.Locale.ROOT));
    metrics.put("effectiveMembers", EnsembleDiagnostics.effectiveMembers(weights));
    return new Fit(used, weights, temperature, metrics);
  }

  /**
   * Member k's predictive distribution over its S passes (components k·S .. k·S + S − 1, member-major as
   * {@link PosteriorMixture} takes them): the mean probabilities, or for regression the mean and the variance of
   * the equal mixture of its Gaussians (mean of the variances + variance of the means).
   */
  public static float[] memberMoments(float[][] comp, int k, int samples, int rows, boolean classification) {
    int n = comp[k * samples].length;
    float[] out = new float[n];
    if (classification) {
      for (int s = 0; s < samples; s++) {
        float[] c = comp[k * samples + s];
        for (int i = 0; i < n; i++) {
          out[i] += c[i];
        }
      }
      for (int i = 0; i < n; i++) {
        out[i] /= samples;
      }
      return out;
    }
    for (int i = 0; i < rows; i++) {
      double mean = 0;
      double second = 0;
      for (int s = 0; s < samples; s++) {
        float[] c = comp[k * samples + s];
        mean += c[2 * i];
        second += c[2 * i + 1] + (double) c[2 * i] * c[2 * i];
      }
      mean /= samples;
      out[2 * i] = (float) mean;
      out[2 * i + 1] = (float) (second / samples - mean * mean);
    }
    return out;
  }

  private static Map<String, Object> classificationMetrics(double[] p, int[] y, int rows, int classes) {
    ClassificationMetrics c = new ClassificationMetrics(classes);
    c.add(p, y, rows);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("accuracy", c.accuracy());
    out.put("nll", c.nll());
    out.put("brier", c.brier());
    out.put("ece", c.ece());
    return out;
  }

  private static Map<String, Object> regressionMetrics(double[] mean, double[] var, double[] target, int rows) {
    RegressionMetrics r = new RegressionMetrics();
    r.add(mean, var, target, rows);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("rmse", r.rmse());
    out.put("nll", r.gaussianNll());
    out.put("coverage90", r.coverage(0.9));
    return out;
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  private static int[] argmax(float[] p, int rows, int classes) {
    int[] out = new int[rows];
    for (int i = 0; i < rows; i++) {
      int best = 0;
      for (int k = 1; k < classes; k++) {
        if (p[i * classes + k] > p[i * classes + best]) {
          best = k;
        }
      }
      out[i] = best;
    }
    return out;
  }
}
