package io.deepens.core.aggregate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mixture fitted on validation outputs, with and without Monte Carlo dropout passes. */
class EnsembleAggregatorTest {
  private static EnsembleSpec spec(String task, boolean temperature, int mc) {
    return SpecLoader.parse("""
        name: aggregate-test
        task: %s
        data: {features: x, label: y%s}
        network: {type: mlp, hidden: [4], dropout: 0.5}
        training: {epochs: 1}
        ensemble: {members: 2, seed: 1, temperature: %s, mcDropoutSamples: %d}
        """.formatted(task, task.equals("classification") ? ", classes: 2" : "", temperature, mc), "t");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> ensemble(EnsembleAggregator.Fit f) {
    return (Map<String, Object>) f.validationMetrics().get("ensemble");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> member(EnsembleAggregator.Fit f, int k) {
    return ((List<Map<String, Object>>) f.validationMetrics().get("members")).get(k);
  }

  // Two validation rows of two classes, labels 0 then 1. Member 0's passes give P(class 0) = 0.9 and 0.5 on row 0,
  // 0.2 and 0.4 on row 1; member 1's passes 0.7 and 0.7, then 0.6 and 0.2.
  private static final float[] LABELS = {0, 1};
  private static final float[] M0 = {0.9f, 0.1f, 0.2f, 0.8f, /* pass 2 */ 0.5f, 0.5f, 0.4f, 0.6f};
  private static final float[] M1 = {0.7f, 0.3f, 0.6f, 0.4f, /* pass 2 */ 0.7f, 0.3f, 0.2f, 0.8f};

  @Test
  void mcPassesAreComponentsAndAMemberIsTheMeanOfItsPasses() {
    EnsembleAggregator.Fit f = EnsembleAggregator.fit(spec("classification", false, 2),
        List.of(new MemberPredictions(0, M0, 2, 2), new MemberPredictions(1, M1, 2, 2)), LABELS);
    // member 0: P(true class) = (0.9+0.5)/2 = 0.7 on row 0, (0.8+0.6)/2 = 0.7 on row 1: NLL = -ln 0.7
    assertEquals(-Math.log(0.7), (double) member(f, 0).get("nll"), 1e-6);
    // member 1: 0.7 and (0.4+0.8)/2 = 0.6
    assertEquals(-(Math.log(0.7) + Math.log(0.6)) / 2, (double) member(f, 1).get("nll"), 1e-6);
    // ensemble: four components of weight 1/4: row 0 (0.9+0.5+0.7+0.7)/4 = 0.7, row 1 (0.8+0.6+0.4+0.8)/4 = 0.65
    assertEquals(-(Math.log(0.7) + Math.log(0.65)) / 2, (double) ensemble(f).get("nll"), 1e-6);
    // Brier (sum over both classes): row 0 2·0.3², row 1 2·0.35²
    assertEquals((2 * 0.09 + 2 * 0.1225) / 2, (double) ensemble(f).get("brier"), 1e-6);
    assertArrayEquals(new double[] {0.5, 0.5}, f.weights(), 0);
  }

  @Test
  void temperatureIsFittedOnTheComponents() {
    // Four rows of two classes (labels 0, 0, 1, 1); each member has two passes. Optima found independently with
    // scipy.optimize.minimize_scalar (bounded, on log T) over the tempered mixture's mean NLL:
    // first passes only T = 0.935715, all four passes T = 1.801782, the members' pass means T = 1.571204.
    float[] a = {0.9f, 0.1f, 0.3f, 0.7f, 0.6f, 0.4f, 0.2f, 0.8f};
    float[] a2 = {0.6f, 0.4f, 0.45f, 0.55f, 0.9f, 0.1f, 0.4f, 0.6f};
    float[] b = {0.6f, 0.4f, 0.45f, 0.55f, 0.2f, 0.8f, 0.7f, 0.3f};
    float[] b2 = {0.95f, 0.05f, 0.1f, 0.9f, 0.5f, 0.5f, 0.3f, 0.7f};
    float[] labels = {0, 0, 1, 1};
    EnsembleAggregator.Fit one = EnsembleAggregator.fit(spec("classification", true, 0),
        List.of(new MemberPredictions(0, a, 2), new MemberPredictions(1, b, 2)), labels);
    assertEquals(0.935715, one.temperature(), 2e-3);
    EnsembleAggregator.Fit passes = EnsembleAggregator.fit(spec("classification", true, 2),
        List.of(new MemberPredictions(0, concat(a, a2), 2, 2), new MemberPredictions(1, concat(b, b2), 2, 2)),
        labels);
    assertEquals(1.801782, passes.temperature(), 2e-3);
    assertEquals(0.669305, (double) ensemble(passes).get("nll"), 1e-4);
    EnsembleAggregator.Fit means = EnsembleAggregator.fit(spec("classification", true, 0),
        List.of(new MemberPredictions(0, EnsembleAggregator.memberMoments(new float[][] {a, a2}, 0, 2, 4, true), 2),
            new MemberPredictions(1, EnsembleAggregator.memberMoments(new float[][] {b, b2}, 0, 2, 4, true), 2)),
        labels);
    assertEquals(1.571204, means.temperature(), 2e-3);
    // Equal passes (S = 2) are the S = 1 mixture with every component twice: the same temperature and metrics.
    EnsembleAggregator.Fit twice = EnsembleAggregator.fit(spec("classification", true, 2),
        List.of(new MemberPredictions(0, concat(a, a), 2, 2), new MemberPredictions(1, concat(b, b), 2, 2)),
        labels);
    assertEquals(one.temperature(), twice.temperature(), 1e-9);
    assertEquals((double) ensemble(one).get("nll"), (double) ensemble(twice).get("nll"), 1e-9);
  }

  @Test
  void regressionMemberMomentsAreTheMixtureOfItsPasses() {
    // one row, passes (mean 1, var 0.5) and (mean 3, var 1.5): mean 2, variance (0.5+1.5)/2 + ((1-2)²+(3-2)²)/2 = 2
    float[] m = EnsembleAggregator.memberMoments(new float[][] {{1f, 0.5f}, {3f, 1.5f}}, 0, 2, 1, false);
    assertArrayEquals(new float[] {2f, 2f}, m, 1e-6f);
    EnsembleAggregator.Fit f = EnsembleAggregator.fit(spec("regression", false, 2),
        List.of(new MemberPredictions(0, new float[] {1f, 0.5f, 3f, 1.5f}, 2, 2),
            new MemberPredictions(1, new float[] {2f, 1f, 2f, 1f}, 2, 2)), new float[] {2f});
    // member 0's Gaussian N(2, 2) at y = 2: NLL = ½ ln(2π·2)
    assertEquals(0.5 * Math.log(2 * Math.PI * 2), (double) member(f, 0).get("nll"), 1e-6);
  }

  @Test
  void passCountsMustAgree() {
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> EnsembleAggregator.fit(
        spec("classification", false, 2),
        List.of(new MemberPredictions(0, M0, 2, 2), new MemberPredictions(1, new float[] {1, 0, 0, 1}, 2, 1)),
        LABELS));
    assertEquals(true, e.getMessage().contains("member 1 gave 1 Monte Carlo passes, member 0 gave 2"),
        e.getMessage());
  }

  @Test
  void stackingCompletesWhenEveryMemberUnderflowsOnARow() {
    // Row 2's true class 0 gets float probability 0 from both members (an underflowed softmax). Before the floor,
    // its log-likelihood was -Infinity for every member and stacking refused the whole fit after all members had
    // trained. With log max(p, 1e-12) that row adds the constant log 1e-12 to every weighting, so the weights are
    // those of rows 0 and 1 alone: maximise log(0.9w + 0.4(1-w)) + log(0.3w + 0.8(1-w)); the derivative
    // 0.5/(0.4 + 0.5w) - 0.5/(0.8 - 0.5w) vanishes at w = 0.4, where both rows' mixture probability is 0.6.
    EnsembleSpec stacking = SpecLoader.parse("""
        name: underflow
        task: classification
        data: {features: x, label: y, classes: 2}
        network: {type: mlp, hidden: [4]}
        training: {epochs: 1}
        ensemble: {members: 2, weighting: stacking}
        """, "t");
    float[] a = {0.9f, 0.1f, 0.7f, 0.3f, 0f, 1f};
    float[] b = {0.4f, 0.6f, 0.2f, 0.8f, 0f, 1f};
    EnsembleAggregator.Fit f = EnsembleAggregator.fit(stacking,
        List.of(new MemberPredictions(0, a, 2), new MemberPredictions(1, b, 2)), new float[] {0, 1, 0});
    assertTrue(Double.isFinite(f.weights()[0]) && Double.isFinite(f.weights()[1]), Arrays.toString(f.weights()));
    // EM stops once an update improves the mean log score by < 1e-10; its curvature in w here is
    // (0.25/0.36 + 0.25/0.36)/3 = 0.463, so a score gap of 1e-9 allows |w - 0.4| <= sqrt(2e-9/0.463) = 6.6e-5
    double w = f.weights()[0];
    double score = (Math.log(0.9 * w + 0.4 * (1 - w)) + Math.log(0.3 * w + 0.8 * (1 - w))) / 3;
    assertEquals(2 * Math.log(0.6) / 3, score, 1e-9, "mean log score at the fitted weights vs at the optimum");
    assertEquals(0.4, w, 1e-4);
    assertEquals(1.0, f.weights()[0] + f.weights()[1], 1e-12);
    double mix0 = 0.9 * w + 0.4 * (1 - w);
    double mix1 = 0.3 * w + 0.8 * (1 - w);
    assertEquals(-(Math.log(mix0) + Math.log(mix1) + Math.log(1e-12)) / 3, (double) ensemble(f).get("nll"), 1e-7,
        "float probabilities (relative error 6e-8)");
    assertEquals(-(Math.log(0.9f) + Math.log(0.3f) + Math.log(1e-12)) / 3, (double) member(f, 0).get("nll"), 1e-9);
  }

  private static float[] concat(float[] x, float[] z) {
    float[] y = java.util.Arrays.copyOf(x, x.length + z.length);
    System.arraycopy(z, 0, y, x.length, z.length);
    return y;
  }
}
