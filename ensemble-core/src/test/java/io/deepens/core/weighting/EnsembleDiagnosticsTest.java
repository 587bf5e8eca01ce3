package io.deepens.core.weighting;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.deepens.core.InvalidInputException;
import io.deepens.core.mixture.PosteriorMixture;
import org.junit.jupiter.api.Test;

class EnsembleDiagnosticsTest {
  @Test
  void effectiveMembersByHand() {
    assertEquals(5.0, EnsembleDiagnostics.effectiveMembers(new double[] {0.2, 0.2, 0.2, 0.2, 0.2}), 1e-14);
    assertEquals(1.0, EnsembleDiagnostics.effectiveMembers(new double[] {0, 1, 0}), 0.0);
    // (0.5, 0.25, 0.25): 1 / (0.25 + 0.0625 + 0.0625) = 8/3
    assertEquals(8.0 / 3, EnsembleDiagnostics.effectiveMembers(new double[] {0.5, 0.25, 0.25}), 1e-15);
    assertEquals(8.0 / 3, PosteriorMixture.of(new double[] {0.5, 0.25, 0.25}).effectiveMembers(), 1e-15);
  }

  @Test
  void disagreementByHand() {
    assertEquals(0.5, EnsembleDiagnostics.disagreementRate(new int[] {0, 1, 2, 3}, new int[] {0, 1, 0, 0}), 0.0);
    double[][] d = EnsembleDiagnostics.pairwiseDisagreement(new int[][] {{0, 0, 1, 1}, {0, 1, 1, 1}, {1, 1, 0, 0}});
    assertArrayEquals(new double[] {0, 0.25, 1}, d[0], 0.0);
    assertArrayEquals(new double[] {0.25, 0, 0.75}, d[1], 0.0);
    assertArrayEquals(new double[] {1, 0.75, 0}, d[2], 0.0);
  }

  @Test
  void badInput() {
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> EnsembleDiagnostics.disagreementRate(new int[] {1}, new int[] {1, 2}));
    assertEquals("predA and predB must have the same length, found 1 and 2", e.getMessage());
    e = assertThrows(InvalidInputException.class,
        () -> EnsembleDiagnostics.effectiveMembers(new double[] {0.5, -0.1}));
    assertEquals("w[1] must be finite and >= 0, found -0.1 (w=[0.5, -0.1])", e.getMessage());
  }
}
