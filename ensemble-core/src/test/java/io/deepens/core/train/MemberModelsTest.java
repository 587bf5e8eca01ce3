package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.DeepensException;
import io.deepens.core.data.OptDigits;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.spec.Task;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

class MemberModelsTest {
  static Path conf(String name) {
    Path p = Path.of("").toAbsolutePath();
    while (!Files.isRegularFile(p.resolve("conf").resolve(name))) {
      p = p.getParent();
    }
    return p.resolve("conf").resolve(name);
  }

  static float[] rows(TrainingSet s, int n) {
    float[] x = new float[n * s.numFeatures()];
    for (int i = 0; i < n; i++) {
      s.copyFeatures(i, x, i * s.numFeatures());
    }
    return x;
  }

  /** Digits with labels below {@code classes} (the example specs hold 8 and 9 out). */
  static TrainingSet digitsBelow(int classes, boolean validation) {
    OptDigits d = Digits.DATA;
    TrainingSetBuilder b = new TrainingSetBuilder(64, null);
    for (int i = 0; i < d.rows(); i++) {
      if (d.label(i) < classes && (d.id(i) % 5 == 0) == validation) {
        b.add(d.features(i), d.label(i));
      }
    }
    return b.build();
  }

  @Test
  void dl4jJsonExampleTrainsAndTheModelRoundTrips() {
    EnsembleSpec spec = SpecLoader.load(conf("digits-dl4j-json.yaml")).withEpochs(2);
    TrainingSet train = digitsBelow(8, false);
    TrainingSet val = digitsBelow(8, true);
    MemberResult r = MemberTrainer.train(spec, 1, train, val, null, null);
    assertEquals(MemberStatus.OK, r.report().status());
    // Two epochs of Adam on 8 digit classes: well above chance (0.125); a loose bound, learning is tested elsewhere.
    assertTrue(r.report().epochs().get(1).validationAccuracy() > 0.5);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    MemberModels.write(r.network(), out);
    out.write(42); // the stream stays open after write
    byte[] bytes = java.util.Arrays.copyOf(out.toByteArray(), out.size() - 1);
    // stored, not deflated (checkpoints every epoch): at least 4 bytes for every parameter and updater value
    long values = r.network().params().length() + r.network().updaterState().length();
    assertTrue(bytes.length >= 4 * values, bytes.length + " bytes for " + values + " float32 values");
    // the same network gives the same file, written later (zip entry dates have a resolution of 2 s)
    try {
      Thread.sleep(2100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    assertArrayEquals(bytes, MemberModels.toBytes(r.network()), "member files of one network differ");
    MemberNetwork back = MemberModels.read(new ByteArrayInputStream(bytes));
    assertEquals(r.network().configurationJson(), back.configurationJson());
    assertEquals(MemberModels.paramsSha256(r.network()), MemberModels.paramsSha256(back));
    assertEquals(r.network().updaterState(), back.updaterState());
    float[] x = rows(val, 20);
    assertArrayEquals(MemberModels.predict(r.network(), x, 20, 64), MemberModels.predict(back, x, 20, 64), 0f);
    assertEquals(r.report().paramsSha256(), MemberModels.paramsSha256(back));
  }

  @Test
  void regressionMembersPredictMeanAndPositiveVariance() {
    EnsembleSpec spec = SpecLoader.load(conf("digits-regression.yaml")).withEpochs(8);
    assertEquals(Task.REGRESSION, spec.task());
    TrainingSet train = Digits.train();
    TrainingSet val = Digits.validation();
    MemberResult r = MemberTrainer.train(spec, 0, train, val, null, null);
    assertEquals(MemberStatus.OK, r.report().status());
    EpochMetrics last = r.report().epochs().get(r.report().epochs().size() - 1);
    // The digit values 0..9 have sd 2.87; predicting their mean gives RMSE 2.87. After 8 epochs the member must
    // explain most of that variance: RMSE < 1.5 (a development run reached 1.00).
    assertTrue(last.validationRmse() < 1.5, "validation RMSE " + last.validationRmse());
    assertTrue(last.validationNll() < r.report().epochs().get(0).validationNll());
    int n = 50;
    float[] p = MemberModels.predict(r.network(), rows(val, n), n, 64);
    assertEquals(2 * n, p.length);
    double se = 0;
    for (int i = 0; i < n; i++) {
      assertTrue(p[2 * i + 1] >= 1e-6f, "variance must be positive, found " + p[2 * i + 1]);
      se += Math.pow(p[2 * i] - val.label(i), 2);
    }
    assertTrue(Math.sqrt(se / n) < 2.0, "RMSE of the first 50 validation rows " + Math.sqrt(se / n));
  }

  @Test
  void zipsWithOtherEntriesAreRefused() throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(b)) {
      z.putNextEntry(new ZipEntry("configuration.json"));
      z.write("{}".getBytes());
      z.putNextEntry(new ZipEntry("objects/payload.bin"));
      z.write(new byte[] {(byte) 0xAC, (byte) 0xED});
    }
    DeepensException e = assertThrows(DeepensException.class, () -> MemberModels.fromBytes(b.toByteArray()));
    assertTrue(e.getMessage().contains("unexpected entry 'objects/payload.bin'"), e.getMessage());
    assertThrows(DeepensException.class, () -> MemberModels.fromBytes(new byte[] {1, 2, 3}));
  }

  @Test
  void paramsHashChangesWithAnyParameter() {
    EnsembleSpec spec = SpecLoader.parse(Digits.yaml("  type: mlp\n  hidden: [4]\n", "  epochs: 1\n"), "t");
    MemberNetwork net = io.deepens.core.network.NetworkFactory.build(spec, 64, 5);
    String h = MemberModels.paramsSha256(net);
    assertEquals(h, MemberModels.paramsSha256(net));
    net.params().putScalar(0, net.params().getFloat(0) + 1e-3f);
    assertNotEquals(h, MemberModels.paramsSha256(net));
  }

  @Test
  void regressionIsInvariantToTheTargetsUnits() {
    // Targets y' = 5000 + 1000 y: standardisation makes training see the same z values (up to float rounding), so
    // RMSE scales by 1000 and NLL shifts by log 1000. Tolerance: 1% relative on RMSE, 0.02 nats on NLL (float32
    // rounding of z differs between the two runs and accumulates over 3 epochs).
    EnsembleSpec spec = SpecLoader.load(conf("digits-regression.yaml")).withEpochs(3);
    TrainingSet train = Digits.part(false, 400);
    TrainingSet val = Digits.part(true, 100);
    TrainingSetBuilder tb = new TrainingSetBuilder(64, null);
    for (int i = 0; i < train.numRows(); i++) {
      tb.add(train.features(i), 5000 + 1000 * train.label(i));
    }
    TrainingSetBuilder vb = new TrainingSetBuilder(64, null);
    for (int i = 0; i < val.numRows(); i++) {
      vb.add(val.features(i), 5000 + 1000 * val.label(i));
    }
    EpochMetrics a = last(MemberTrainer.train(spec, 0, train, val, null, null));
    MemberResult scaled = MemberTrainer.train(spec, 0, tb.build(), vb.build(), null, null);
    EpochMetrics b = last(scaled);
    assertEquals(1000 * a.validationRmse(), b.validationRmse(), 0.01 * 1000 * a.validationRmse());
    assertEquals(a.validationNll() + Math.log(1000), b.validationNll(), 0.02);
    float[] p = MemberModels.predict(scaled.network(), rows(val, 1), 1, 64);
    assertTrue(p[0] > 3000 && p[0] < 16000, "mean in target units, found " + p[0]);
    assertTrue(p[1] > 1, "variance in target units, found " + p[1]);
  }

  private static EpochMetrics last(MemberResult r) {
    return r.report().epochs().get(r.report().epochs().size() - 1);
  }
}
