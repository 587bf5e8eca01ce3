package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SWAG (Maddox et al. 2019) for one member: the moments against a direct computation over the stored weight
 * snapshots, samples against the SWAG Gaussian, resuming mid-SWAG, and the member file with moments.
 */
class SwagTest {
  /** Small: a 64-8-10 MLP, 3 Adam epochs, then 4 SWAG epochs with one snapshot each (at the epoch's end). */
  static final EnsembleSpec SPEC = SpecLoader.parse(Digits.yaml("""
        type: mlp
        hidden: [8]
      """, """
        learningRate: 0.01
        batchSize: 32
        epochs: 3
      """).replace("  seed: 7\n", "  seed: 7\n  swag: {epochs: 4, learningRate: 0.02, rank: 3, samples: 5}\n"), "swag");

  private static TrainingSet train;
  private static TrainingSet validation;

  @BeforeAll
  static void data() {
    train = Digits.part(false, 300);
    validation = Digits.part(true, 60);
  }

  /** Keeps every checkpoint (decoded), so the test sees the parameters after every epoch. */
  static final class Recorder implements Checkpointer {
    final List<MemberCheckpoint> saved = new ArrayList<>();

    @Override
    public Optional<MemberCheckpoint> latest(int member) {
      return Optional.empty();
    }

    @Override
    public void save(int member, MemberCheckpoint c) {
      saved.add(MemberCheckpoint.fromBytes(c.toBytes()));
    }
  }

  static float[] params(MemberCheckpoint c) {
    return MemberModels.fromBytes(c.model()).params().dup('c').data().asFloat();
  }

  @Test
  void momentsEqualADirectComputationOverTheStoredSnapshots() {
    Recorder rec = new Recorder();
    MemberResult r = MemberTrainer.train(SPEC, 1, train, validation, rec, null);
    assertEquals(MemberStatus.OK, r.report().status());
    assertEquals(7, r.report().epochsRun());
    assertEquals(7, rec.saved.size());
    assertNull(rec.saved.get(2).swagMoments(), "no moments before the SWAG epochs");
    SwagMoments m = r.swag();
    assertNotNull(m);
    assertEquals(4, m.count());
    // with one snapshot per epoch, the snapshots are the parameters of the SWAG epochs' checkpoints (epochs 3..6)
    float[][] theta = new float[4][];
    for (int i = 0; i < 4; i++) {
      theta[i] = params(rec.saved.get(3 + i));
    }
    double[] mean = assertMomentsOf(theta, m);
    assertEquals(3, m.deviations().length, "the last K = 3 deviations");
    int p = m.numParams();
    // the member's network holds the SWA mean; the checkpoints carried the moments so far
    float[] swa = r.network().params().dup('c').data().asFloat();
    for (int j = 0; j < p; j++) {
      assertEquals((float) mean[j], swa[j], 1e-6f * (1 + Math.abs((float) mean[j])), "SWA weight " + j);
    }
    assertEquals(2, SwagMoments.fromBytes(rec.saved.get(4).swagMoments(), "checkpoint").count());
    // the SWAG epochs ran SGD at the SWAG rate, reported as their learning rate
    assertEquals(0.02, r.report().epochs().get(5).learningRate(), 0.0);
  }

  /**
   * Asserts SWAG's moments against a direct two-pass computation over the snapshots {@code theta} (oldest first):
   * the mean, the diagonal variance, and the last K deviations (theta_i minus the mean of theta_1..theta_i). Returns
   * the mean.
   */
  static double[] assertMomentsOf(float[][] theta, SwagMoments m) {
    int n = theta.length;
    int p = m.numParams();
    assertEquals(n, m.count());
    double[] mean = new double[p];
    double[] sq = new double[p];
    for (int j = 0; j < p; j++) {
      for (int i = 0; i < n; i++) {
        mean[j] += (double) theta[i][j] / n;
        sq[j] += (double) theta[i][j] * theta[i][j] / n;
      }
    }
    double[] gotMean = m.mean();
    double[] gotVar = m.diagonalVariance();
    for (int j = 0; j < p; j++) {
      // running means in double over float snapshots: agree with the two-pass sums to ~1e-15 relative
      assertEquals(mean[j], gotMean[j], 1e-12 * (1 + Math.abs(mean[j])), "mean " + j);
      assertEquals(Math.max(sq[j] - mean[j] * mean[j], 0), gotVar[j], 1e-12 * (1 + sq[j]), "variance " + j);
    }
    float[][] d = m.deviations();
    int k = d.length;
    for (int c = 0; c < k; c++) {
      int i = n - k + c;
      for (int j = 0; j < p; j++) {
        double running = 0;
        for (int q = 0; q <= i; q++) {
          running += theta[q][j];
        }
        running /= i + 1;
        assertEquals(theta[i][j] - running, d[c][j], 1e-6 * (1 + Math.abs(theta[i][j])), "D[" + j + "," + c + "]");
      }
    }
    return mean;
  }

  @Test
  void snapshotsPerEpochCollectAtEvenlySpacedMinibatches() {
    EnsembleSpec twice = SpecLoader.parse(SPEC.toJson().replace("\"snapshotsPerEpoch\":1", "\"snapshotsPerEpoch\":3"),
        "swag3");
    MemberResult r = MemberTrainer.train(twice, 0, train, validation, null, null);
    assertEquals(12, r.swag().count());
    assertEquals(3, r.swag().deviations().length);
  }

  /** Moments from a few random snapshots of a 3-parameter "network", for the sampling test. */
  private static SwagMoments tinyMoments() {
    SwagMoments m = new SwagMoments(3, 3);
    SplittableRandom r = new SplittableRandom(42);
    for (int i = 0; i < 5; i++) {
      double u = r.nextGaussian(); // shared by coordinates 0 and 2: correlated snapshots, as along a trajectory
      m.collect(new float[] {
          (float) (0.5 + 0.3 * u), (float) (-1 + 0.1 * r.nextGaussian()), (float) (0.8 * u + 0.1 * r.nextGaussian())});
    }
    return m;
  }

  @Test
  void samplesHaveTheSwagGaussiansMeanAndCovariance() {
    SwagMoments m = tinyMoments();
    assertSamplesFollowTheGaussian(m, 1.0, s -> m.sample(s));
    float[] x = m.sample(Seeds.derive(3, 0, SeedPurpose.SWAG_SAMPLE, 0));
    assertArrayEquals(x, m.sample(Seeds.derive(3, 0, SeedPurpose.SWAG_SAMPLE, 0), 1.0), 0f, "scale 1 is the Gaussian");
  }

  @Test
  void aCovarianceScaleMultipliesTheCovarianceAndKeepsTheMean() {
    SwagMoments m = tinyMoments();
    assertSamplesFollowTheGaussian(m, 3.0, s -> m.sample(s, 3.0));
    assertSamplesFollowTheGaussian(m, 0.25, s -> m.sample(s, 0.25));
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> m.sample(1, 0.0));
    assertTrue(e.getMessage().contains("SWAG covariance scale must be > 0, found 0.0"), e.getMessage());
  }

  /** Mean and covariance of 40,000 draws against θ̄ and scale · ½(Σ_diag + D Dᵀ / (K − 1)) computed from m. */
  private static void assertSamplesFollowTheGaussian(
      SwagMoments m, double scale, java.util.function.LongFunction<float[]> draw) {
    int p = 3;
    double[] mu = m.mean();
    double[] diag = m.diagonalVariance();
    float[][] d = m.deviations();
    int k = d.length;
    double[][] cov = new double[p][p];
    for (int a = 0; a < p; a++) {
      for (int b = 0; b < p; b++) {
        double ddt = 0;
        for (int c = 0; c < k; c++) {
          ddt += (double) d[c][a] * d[c][b];
        }
        cov[a][b] = scale * 0.5 * ((a == b ? diag[a] : 0) + ddt / (k - 1));
      }
    }
    int n = 40_000;
    double[] sum = new double[p];
    double[][] outer = new double[p][p];
    for (int s = 0; s < n; s++) {
      float[] x = draw.apply(Seeds.derive(3, 0, SeedPurpose.SWAG_SAMPLE, s));
      for (int a = 0; a < p; a++) {
        sum[a] += x[a];
        for (int b = 0; b < p; b++) {
          outer[a][b] += (x[a] - mu[a]) * (x[b] - mu[b]);
        }
      }
    }
    for (int a = 0; a < p; a++) {
      // 5 standard errors of a mean of n draws: sd / sqrt(n)
      assertEquals(mu[a], sum[a] / n, 5 * Math.sqrt(cov[a][a] / n), "mean " + a);
      for (int b = 0; b < p; b++) {
        // Gaussian: Var(x_a x_b) = cov_ab^2 + cov_aa cov_bb; 5 standard errors of the mean of n products
        double se = Math.sqrt((cov[a][b] * cov[a][b] + cov[a][a] * cov[b][b]) / n);
        assertEquals(cov[a][b], outer[a][b] / n, 5 * se, "covariance " + a + "," + b);
      }
    }
    assertTrue(Math.abs(cov[0][2]) > 10 * Math.sqrt((cov[0][0] * cov[2][2]) / n),
        "the low-rank part makes off-diagonal covariance the test can see");
  }

  @Test
  void sampledNetworksAreSeededPerMemberAndSample() {
    MemberResult r = MemberTrainer.train(SPEC, 2, train, validation, null, null);
    MemberNetwork[] a = MemberModels.swagSamples(r.network(), r.swag(), 3, 1.0, 7, 2);
    MemberNetwork[] b = MemberModels.swagSamples(r.network(), r.swag(), 3, 1.0, 7, 2);
    for (int s = 0; s < 3; s++) {
      float[] expected = r.swag().sample(Seeds.derive(7, 2, SeedPurpose.SWAG_SAMPLE, s));
      assertArrayEquals(expected, a[s].params().dup('c').data().asFloat(), 0f);
      assertArrayEquals(expected, b[s].params().dup('c').data().asFloat(), 0f);
    }
    assertNotEquals(MemberModels.paramsSha256(a[0]), MemberModels.paramsSha256(a[1]));
    assertNotEquals(MemberModels.paramsSha256(a[0]),
        MemberModels.paramsSha256(MemberModels.swagSamples(r.network(), r.swag(), 1, 1.0, 7, 3)[0]));
    MemberNetwork[] wide = MemberModels.swagSamples(r.network(), r.swag(), 2, 2.5, 7, 2);
    for (int s = 0; s < 2; s++) {
      float[] expected = r.swag().sample(Seeds.derive(7, 2, SeedPurpose.SWAG_SAMPLE, s), 2.5);
      assertArrayEquals(expected, wide[s].params().dup('c').data().asFloat(), 0f);
      // the same z, √2.5 times as far from the mean
      float[] mean = r.swag().meanAsFloats();
      float[] narrow = a[s].params().dup('c').data().asFloat();
      for (int j = 0; j < mean.length; j += 997) {
        assertEquals(Math.sqrt(2.5) * (narrow[j] - mean[j]), expected[j] - mean[j],
            1e-5 + 1e-4 * Math.abs(expected[j]));
      }
    }
  }

  @Test
  void resumingMidSwagGivesTheSameMember() {
    // a run killed after epoch 5 (the third epoch of SWAG)
    resumingAfterGivesTheSameMember(SPEC, train, validation, 5);
  }

  /**
   * Member 0 trained uninterrupted, then recorded, then resumed from its checkpoint after {@code epoch} (a SWAG
   * epoch): the recorded and the resumed runs give the uninterrupted member and SWAG moments. Returns that member.
   */
  static MemberResult resumingAfterGivesTheSameMember(EnsembleSpec spec, TrainingSet train, TrainingSet validation,
      int epoch) {
    MemberResult uninterrupted = MemberTrainer.train(spec, 0, train, validation, new InMemoryCheckpointer(), null);
    Recorder rec = new Recorder();
    MemberResult recorded = MemberTrainer.train(spec, 0, train, validation, rec, null);
    assertEquals(uninterrupted.report().paramsSha256(), recorded.report().paramsSha256());
    assertArrayEquals(uninterrupted.swag().toBytes(), recorded.swag().toBytes());
    MemberCheckpoint after = rec.saved.get(epoch - 1);
    assertEquals(epoch, after.epochsCompleted());
    assertNotNull(after.swagMoments());
    InMemoryCheckpointer store = new InMemoryCheckpointer();
    store.save(0, after);
    MemberResult resumed = MemberTrainer.train(spec, 0, train, validation, store, null);
    assertEquals(epoch, resumed.report().resumedFromEpoch());
    assertEquals(uninterrupted.report().paramsSha256(), resumed.report().paramsSha256());
    assertArrayEquals(uninterrupted.swag().toBytes(), resumed.swag().toBytes());
    return uninterrupted;
  }

  @Test
  void memberFileCarriesTheMomentsAndOldFilesHaveNone() throws Exception {
    MemberResult r = MemberTrainer.train(SPEC, 0, train, validation, null, null);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    MemberModels.write(r.network(), r.swag(), out);
    byte[] bytes = out.toByteArray();
    MemberNetwork back = MemberModels.fromBytes(bytes);
    assertEquals(r.report().paramsSha256(), MemberModels.paramsSha256(back));
    assertArrayEquals(r.swag().toBytes(), MemberModels.readSwag(bytes, "test").toBytes());
    // without moments the file is the format-1 file, byte for byte
    assertArrayEquals(MemberModels.toBytes(r.network()), withoutMoments(r.network()));
    try (var in = SwagTest.class.getResourceAsStream("member-noswag-v1.zip")) {
      assertNull(MemberModels.readSwag(in.readAllBytes(), "golden"));
    }
    byte[] damaged = r.swag().toBytes();
    damaged[0] ^= 1;
    assertThrows(DeepensException.class, () -> SwagMoments.fromBytes(damaged, "x"));
  }

  private static byte[] withoutMoments(MemberNetwork net) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    MemberModels.write(net, null, out);
    return out.toByteArray();
  }

  @Test
  void specRulesSayWhatToChange() {
    String base = SPEC.toJson();
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> SpecLoader.parse(
        base.replace("\"rank\":3", "\"rank\":9"), "x"));
    assertTrue(e.getMessage().contains("ensemble.swag.rank (9) must be <= the snapshots collected"), e.getMessage());
    // batch norm is supported (SwagBatchNormTest); dropout is not
    assertTrue(SpecLoader.parse(base.replace("\"batchNorm\":false", "\"batchNorm\":true"), "x").network().batchNorm());
    e = assertThrows(InvalidInputException.class, () -> SpecLoader.parse(
        base.replace("\"dropout\":0.0", "\"dropout\":0.2"), "x"));
    assertTrue(e.getMessage().contains("ensemble.swag needs network.dropout 0"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> SpecLoader.parse(
        base.replace("\"mcDropoutSamples\":0", "\"mcDropoutSamples\":4"), "x"));
    assertTrue(e.getMessage().contains("ensemble.swag and ensemble.mcDropoutSamples"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> SpecLoader.parse(
        base.replace("\"learningRate\":0.02", "\"learningRate\":-1"), "x"));
    assertTrue(e.getMessage().contains("ensemble.swag.learningRate must be > 0"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> SpecLoader.parse(
        base.replace("\"samples\":5", "\"sample\":5"), "x"));
    assertTrue(e.getMessage().contains("ensemble.swag.sample is not a known key"), e.getMessage());
    e = assertThrows(InvalidInputException.class, () -> SpecLoader.parse(
        base.replace("\"samples\":5", "\"samples\":5,\"scale\":0"), "x"));
    assertTrue(e.getMessage().contains("ensemble.swag.scale must be > 0"), e.getMessage());
    // scale: 1 unless given, and then absent from the canonical JSON; another scale is written and read back
    assertEquals(1.0, SPEC.ensemble().swag().scale());
    assertTrue(!base.contains("scale"), base);
    EnsembleSpec wide = SpecLoader.parse(base.replace("\"samples\":5", "\"samples\":5,\"scale\":2.5"), "x");
    assertEquals(2.5, wide.ensemble().swag().scale());
    assertEquals(wide, EnsembleSpec.fromJson(wide.toJson()));
    assertTrue(wide.toJson().contains("\"samples\":5,\"scale\":2.5"), wide.toJson());
    // absent: no swag key in the canonical JSON, so specs without it keep their SHA-256
    assertTrue(!SpecLoader.parse(base.replaceAll(",\"swag\":\\{[^}]*\\}", ""), "x").toJson().contains("swag"));
    assertEquals(7, SPEC.totalEpochs());
    assertEquals(5, SPEC.ensemble().componentsPerMember());
  }
}
