package io.deepens.core.random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SeedsTest {
  @Test
  void mix64MatchesTheSplitMix64ReferenceOutput() {
    // SplitMix64 with state 0: the first output is mix64(0 + γ) = 0xE220A8397B1DCDAF (Vigna's reference code).
    assertEquals(0xE220A8397B1DCDAFL, Seeds.mix64(Seeds.GAMMA));
  }

  @Test
  void deriveIsAPureFunctionOfItsInputsAndSeparatesEachOfThem() {
    long base = Seeds.derive(42, 3, SeedPurpose.SHUFFLE, 5);
    assertEquals(base, Seeds.derive(42, 3, SeedPurpose.SHUFFLE, 5));
    assertNotEquals(base, Seeds.derive(43, 3, SeedPurpose.SHUFFLE, 5));
    assertNotEquals(base, Seeds.derive(42, 4, SeedPurpose.SHUFFLE, 5));
    assertNotEquals(base, Seeds.derive(42, 3, SeedPurpose.DROPOUT, 5));
    assertNotEquals(base, Seeds.derive(42, 3, SeedPurpose.SHUFFLE, 6));
    // Swapping member and epoch values must not collide (positions are distinguished).
    assertNotEquals(Seeds.derive(42, 1, SeedPurpose.INIT, 2), Seeds.derive(42, 2, SeedPurpose.INIT, 1));
  }

  @Test
  void derivedSeedsDoNotCollideOverAGrid() {
    Set<Long> seen = new HashSet<>();
    for (int m = 0; m < 32; m++) {
      for (SeedPurpose p : SeedPurpose.values()) {
        for (int e = 0; e < 64; e++) {
          assertTrue(seen.add(Seeds.derive(20261127L, m, p, e)), m + " " + p + " " + e);
        }
      }
    }
  }

  @Test
  void everyUseOfRandomnessHasItsOwnPurpose() {
    Set<Integer> codes = new HashSet<>();
    for (SeedPurpose p : SeedPurpose.values()) {
      assertTrue(codes.add(p.code()), "purpose codes are distinct: " + p);
    }
    long seed = 20261127L;
    for (int m = 0; m < 8; m++) {
      for (int b = 0; b < 256; b++) {
        // scoring stream b and training epoch b of the same member draw different dropout masks
        assertNotEquals(Seeds.derive(seed, m, SeedPurpose.DROPOUT, b), Seeds.derive(seed, m, SeedPurpose.MC_SCORING, b));
        assertNotEquals(Seeds.derive(seed, m, SeedPurpose.DROPOUT, b),
            Seeds.derive(seed, m, SeedPurpose.MC_VALIDATION, 0));
        // pseudo-BMA's Bayesian bootstrap is not member 0's (or any member's) bootstrap resample
        assertNotEquals(Seeds.derive(seed, 0, SeedPurpose.WEIGHT_BOOTSTRAP, 0),
            Seeds.derive(seed, m, SeedPurpose.BOOTSTRAP, b));
      }
    }
    assertEquals(7, SeedPurpose.WEIGHT_BOOTSTRAP.code());
    assertEquals(8, SeedPurpose.MC_VALIDATION.code());
    assertEquals(9, SeedPurpose.MC_SCORING.code());
  }

  @Test
  void derivedSeedsArePinned() {
    // A change of the splitting scheme changes every ensemble trained so far: it must be deliberate.
    assertEquals(0x37E2DF5D1E7C1D73L, Seeds.derive(20261127L, 0, SeedPurpose.INIT, 0));
    assertEquals(0xDDF07177535AD29AL, Seeds.derive(20261127L, 3, SeedPurpose.SHUFFLE, 7));
  }

  @Test
  void contentRowKeysAreEqualForEqualRowsAndFoldSignedZero() {
    float[] a = {0.5f, 0f, 1f};
    float[] b = {0.5f, -0f, 1f};
    assertEquals(Seeds.rowKey(a, 3), Seeds.rowKey(b, 3));
    assertEquals(Seeds.rowKey(a, 0.0), Seeds.rowKey(a, -0.0));
    assertNotEquals(Seeds.rowKey(a, 3), Seeds.rowKey(a, 4));
    assertNotEquals(Seeds.rowKey(a, 3), Seeds.rowKey(new float[] {0.5f, 0f, 1.0000001f}, 3));
    assertNotEquals(Seeds.rowKey(new float[] {1f, 2f}, 0), Seeds.rowKey(new float[] {2f, 1f}, 0));
    assertNotEquals(Seeds.rowKey(new float[] {0f}, 0), Seeds.rowKey(new float[] {0f, 0f}, 0));
  }

  @Test
  void stringAndNumericRowKeysAreDeterministic() {
    assertEquals(Seeds.rowKey("row-17"), Seeds.rowKey("row-17"));
    assertNotEquals(Seeds.rowKey("row-17"), Seeds.rowKey("row-71"));
    assertNotEquals(Seeds.rowKey(""), Seeds.rowKey("\0"));
    assertEquals(Seeds.rowKey(17L), Seeds.rowKey(17L));
    assertNotEquals(Seeds.rowKey(17L), Seeds.rowKey(18L));
  }

  @Test
  void rowOrderKeysGiveEveryMemberItsOwnOrder() {
    long m0 = Seeds.derive(1, 0, SeedPurpose.ROW_ORDER, 0);
    long m1 = Seeds.derive(1, 1, SeedPurpose.ROW_ORDER, 0);
    int sameOrder = 0;
    int n = 10_000;
    for (long k = 0; k < n; k++) {
      boolean a = Long.compareUnsigned(Seeds.rowOrderKey(m0, k), Seeds.rowOrderKey(m0, k + 1)) < 0;
      boolean b = Long.compareUnsigned(Seeds.rowOrderKey(m1, k), Seeds.rowOrderKey(m1, k + 1)) < 0;
      sameOrder += a == b ? 1 : 0;
    }
    // Independent orders agree on a pair with probability 1/2; the count is Binomial(n, 1/2), sd = sqrt(n)/2 = 50.
    // 5 sd = 250 is the tolerance.
    assertEquals(n / 2.0, sameOrder, 250.0);
  }

  @Test
  void unitIntervalUsesTheTop53Bits() {
    assertEquals(0.0, Seeds.toUnitInterval(0L), 0.0);
    assertTrue(Seeds.toUnitInterval(-1L) < 1.0);
    assertEquals(0.5, Seeds.toUnitInterval(Long.MIN_VALUE), 0.0);
  }

  @Test
  void validationSplitHoldsOutTheRequestedShareDeterministically() {
    int n = 100_000;
    int held = 0;
    for (long k = 0; k < n; k++) {
      boolean v = Seeds.isValidationRow(20261127L, Seeds.rowKey(k), 0.15);
      assertEquals(v, Seeds.isValidationRow(20261127L, Seeds.rowKey(k), 0.15));
      held += v ? 1 : 0;
    }
    // Binomial(n, 0.15) share: sd sqrt(0.15 * 0.85 / n) = 0.00113; tolerance 5 sd.
    assertEquals(0.15, (double) held / n, 5 * Math.sqrt(0.15 * 0.85 / n));
    assertTrue(!Seeds.isValidationRow(1, 2, 0.0));
    assertTrue(Seeds.isValidationRow(1, 2, 1.0));
  }
}
