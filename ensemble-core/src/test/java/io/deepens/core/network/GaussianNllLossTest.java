package io.deepens.core.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;

class GaussianNllLossTest {
  private ILossFunction loss = new GaussianNllLoss();

  @Test
  void scoreMatchesTheHandComputedNll() {
    // y = 1, mu = 0.5, raw = 0: var = ln 2 + 1e-6; NLL = 0.5 ln(2 pi var) + 0.25 / (2 var).
    INDArray pre = Nd4j.createFromArray(new double[][] {{0.5, 0.0}});
    INDArray y = Nd4j.createFromArray(new double[][] {{1.0}});
    double var = Math.log(2) + 1e-6;
    double expected = 0.5 * Math.log(2 * Math.PI * var) + 0.25 / (2 * var);
    assertEquals(expected, loss.computeScore(y, pre, new ActivationIdentity(), null, false), 1e-12);
    assertEquals(expected, GaussianNllLoss.nll(1.0, 0.5, GaussianNllLoss.variance(0.0)), 1e-12);
  }

  @Test
  void softplusIsStableForLargeRawValues() {
    assertEquals(100.0 + 1e-6, GaussianNllLoss.variance(100.0), 1e-9);
    assertEquals(1e-6, GaussianNllLoss.variance(-100.0), 1e-12);
    INDArray pre = Nd4j.createFromArray(new float[][] {{0f, 200f}, {0f, -200f}});
    INDArray y = Nd4j.createFromArray(new float[][] {{0f}, {0f}});
    assertTrue(Double.isFinite(loss.computeScore(y, pre, new ActivationIdentity(), null, true)));
  }

  /** Central differences in double precision: truncation error ~h^2 = 1e-12, rounding ~1e-16 / h = 1e-10. */
  private void checkGradient(org.nd4j.linalg.activations.IActivation act, INDArray mask) {
    Nd4j.getRandom().setSeed(12345);
    int n = 7;
    INDArray pre = Nd4j.rand(DataType.DOUBLE, n, 2).subi(0.5).muli(4);
    INDArray y = Nd4j.rand(DataType.DOUBLE, n, 1).muli(3);
    INDArray grad = loss.computeGradient(y, pre, act, mask);
    double h = 1e-6;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < 2; j++) {
        double orig = pre.getDouble(i, j);
        pre.putScalar(i, j, orig + h);
        double up = loss.computeScore(y, pre, act, mask, false);
        pre.putScalar(i, j, orig - h);
        double down = loss.computeScore(y, pre, act, mask, false);
        pre.putScalar(i, j, orig);
        double numeric = (up - down) / (2 * h);
        double analytic = grad.getDouble(i, j);
        // Tolerance: 1e-6 absolute plus 1e-6 relative, far above the finite-difference error (~1e-9).
        assertEquals(numeric, analytic, 1e-6 + 1e-6 * Math.abs(numeric), "d/dpre[" + i + "," + j + "]");
      }
    }
  }

  @Test
  void gradientMatchesFiniteDifferencesWithIdentityOutput() {
    checkGradient(new ActivationIdentity(), null);
  }

  @Test
  void gradientMatchesFiniteDifferencesThroughAnotherActivationAndAMask() {
    INDArray mask = Nd4j.createFromArray(new double[][] {{1}, {0}, {1}, {1}, {0}, {1}, {1}});
    checkGradient(new ActivationTanH(), mask);
    INDArray g = loss.computeGradient(Nd4j.ones(DataType.DOUBLE, 7, 1), Nd4j.ones(DataType.DOUBLE, 7, 2),
        new ActivationTanH(), mask);
    assertEquals(0.0, g.getRow(1).norm1Number().doubleValue(), 0.0);
  }

  @Test
  void averagedScoreIsTheSumOverRows() {
    INDArray pre = Nd4j.createFromArray(new double[][] {{0.1, 0.2}, {-1, 3}, {2, -2}});
    INDArray y = Nd4j.createFromArray(new double[][] {{0}, {1}, {2}});
    double sum = loss.computeScore(y, pre, new ActivationIdentity(), null, false);
    assertEquals(sum / 3, loss.computeScore(y, pre, new ActivationIdentity(), null, true), 1e-12);
    assertEquals(sum, loss.computeScoreArray(y, pre, new ActivationIdentity(), null).sumNumber().doubleValue(),
        1e-12);
  }

  @Test
  void standardisedTargetsGiveTheSameGradientCheckAndUnitConversions() {
    loss = new GaussianNllLoss(1.5, 2.0);
    checkGradient(new ActivationIdentity(), null);
    // y = 5.5 is z = 2 in standardised units; the score is computed on z.
    INDArray pre = Nd4j.createFromArray(new double[][] {{0.5, 0.0}});
    INDArray y = Nd4j.createFromArray(new double[][] {{5.5}});
    double var = GaussianNllLoss.variance(0.0);
    assertEquals(GaussianNllLoss.nll(2.0, 0.5, var), loss.computeScore(y, pre, new ActivationIdentity(), null,
        false), 1e-12);
    GaussianNllLoss g = (GaussianNllLoss) loss;
    assertEquals(2.5, g.meanInTargetUnits(0.5), 1e-15);
    assertEquals(4 * var, g.varianceInTargetUnits(0.0), 1e-15);
    // NLL in target units = NLL of z + log s: the density of y = m + s z is N(z) / s.
    assertEquals(GaussianNllLoss.nll(5.5, 2.5, 4 * var), GaussianNllLoss.nll(2.0, 0.5, var) + g.nllOffset(), 1e-12);
    org.junit.jupiter.api.Assertions.assertThrows(io.deepens.core.InvalidInputException.class,
        () -> new GaussianNllLoss(0, 0));
  }
}
