package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.network.MemberNetwork;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Files written by an earlier build stay readable: a version-1 member checkpoint and a member model (both from
 * training {@link #SPEC_YAML}'s member 1 for 3 epochs on the first 60 digits training rows). If a format change
 * is deliberate, add a new version and keep reading these.
 */
class GoldenFilesTest {
  static final String SPEC_YAML = """
      name: golden
      task: classification
      data: {features: features, label: label, classes: 10}
      network: {type: mlp, hidden: [4]}
      training: {learningRate: 0.01, batchSize: 16, epochs: 3, earlyStopping: {patience: 2}}
      ensemble: {members: 2, seed: 5}
      """;
  /** SHA-256 of the final parameters as float32 little-endian, recorded when the files were written. */
  static final String PARAMS_SHA256 = "0ca282e33a99c2eaf53a2b49331b8c0c5ded215c56566d4094446b70621c7629";

  private static byte[] resource(String name) throws IOException {
    try (InputStream in = GoldenFilesTest.class.getResourceAsStream(name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void versionOneCheckpointIsReadable() throws IOException {
    MemberCheckpoint c = MemberCheckpoint.fromBytes(resource("checkpoint-v1.bin"));
    assertEquals(1, c.member());
    assertEquals(SpecLoader.parse(SPEC_YAML, "golden").sha256(), c.specSha256());
    assertEquals(3, c.epochsCompleted());
    assertEquals(2, c.bestEpoch());
    assertEquals(0, c.epochsWithoutImprovement());
    assertEquals(3, c.history().size());
    assertEquals(c.history().get(2).validationNll(), c.bestMetric(), 0.0);
    MemberNetwork net = MemberModels.fromBytes(c.model());
    assertEquals(PARAMS_SHA256, MemberModels.paramsSha256(net));
    assertArrayEquals(MemberModels.paramBytes(net.params()), c.bestParams());

    // A finished member resumed from the old checkpoint returns the recorded parameters without training.
    EnsembleSpec spec = SpecLoader.parse(SPEC_YAML, "golden");
    Checkpointer old = new Checkpointer() {
      @Override
      public Optional<MemberCheckpoint> latest(int member) {
        return Optional.of(c);
      }

      @Override
      public void save(int member, MemberCheckpoint checkpoint) {
        throw new AssertionError("nothing is left to train");
      }
    };
    MemberResult r = MemberTrainer.train(spec, 1, Digits.part(false, 60), Digits.part(true, 30), old, null);
    assertEquals(PARAMS_SHA256, r.report().paramsSha256());
    assertEquals(3, r.report().resumedFromEpoch());
  }

  @Test
  void memberModelFileIsReadable() throws IOException {
    MemberNetwork net = MemberModels.fromBytes(resource("member-v1.zip"));
    assertEquals(PARAMS_SHA256, MemberModels.paramsSha256(net));
    assertEquals(2, net.multiLayerNetwork().orElseThrow().getnLayers());
    float[] p = MemberModels.predict(net, Digits.part(true, 1).features(0), 1, 64);
    assertEquals(10, p.length);
    double sum = 0;
    for (float v : p) {
      sum += v;
    }
    assertEquals(1.0, sum, 1e-5); // softmax probabilities sum to 1 up to float rounding
    assertTrue(net.updaterState() != null, "the updater state was saved");
  }
}
