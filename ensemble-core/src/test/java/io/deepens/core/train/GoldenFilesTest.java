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
  /** The spec of {@code member-noswag-v1.zip} ({@link GoldenMemberWriter}). */
  static final String NOSWAG_YAML = """
      name: golden-noswag
      task: classification
      data: {features: features, label: label, classes: 10}
      network: {type: mlp, hidden: [8]}
      training: {learningRate: 0.01, batchSize: 32, epochs: 2}
      ensemble: {members: 1, seed: 11}
      resources: {threadsPerMember: 1}
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
  /**
   * A member file written before member files could hold SWAG moments ({@link GoldenMemberWriter}, member 0 of
   * {@link #NOSWAG_YAML}): it loads without moments and scores what it scored when written (probabilities of the
   * first 3 validation rows recorded then; tolerance 1e-6, float rounding of a different kernel order).
   */
  @Test
  void memberFileWithoutSwagMomentsScoresAsWhenWritten() throws IOException {
    byte[] bytes = resource("member-noswag-v1.zip");
    MemberNetwork net = MemberModels.fromBytes(bytes);
    assertEquals("ca61a902c5050738167acc1880e4fcdbdaf970e409ca32549d13443dc5e7b708", MemberModels.paramsSha256(net));
    float[][] expected = {
        {0.08386924f, 0.04676493f, 0.08960082f, 0.12406755f, 0.12374357f, 0.062101137f, 0.11495373f, 0.06641682f,
            0.14319451f, 0.14528763f},
        {0.027396461f, 0.026002942f, 0.08442987f, 0.21290755f, 0.16229357f, 0.03359728f, 0.046404276f, 0.031724826f,
            0.13640268f, 0.23884057f},
        {0.088942f, 0.08180869f, 0.12106628f, 0.0875965f, 0.083035216f, 0.063040696f, 0.15990932f, 0.09095898f,
            0.118381985f, 0.105260305f}};
    TrainingSet v = Digits.part(true, 3);
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(expected[i], MemberModels.predict(net, v.features(i), 1, 64), 1e-6f, "row " + i);
    }
  }

  /** The spec of {@code member-swag-v2.zip}: a SWAG member without batch norm (SWAG moments layout version 1). */
  static final String SWAG_YAML = """
      name: golden-swag
      task: classification
      data: {features: features, label: label, classes: 10}
      network: {type: mlp, hidden: [8]}
      training: {learningRate: 0.01, batchSize: 32, epochs: 2}
      ensemble: {members: 1, seed: 13, swag: {epochs: 2, learningRate: 0.01, rank: 2, samples: 3}}
      resources: {threadsPerMember: 1}
      """;

  /**
   * A SWAG member file written before batch norm was supported (member file format 2, SWAG moments layout 1): member
   * 0 of {@link #SWAG_YAML} trained on the first 200 digits training rows with the build of commit 489721e
   * ({@link GoldenSwagMemberWriter}). It loads, its 3 SWAG draws (ensemble seed 13) are bit-identical to the draws
   * made then (parameter SHA-256) and score what they scored then on the first 2 validation rows (tolerance 1e-6).
   */
  @Test
  void swagMemberFileWithoutBatchNormSamplesAndScoresAsWhenWritten() throws IOException {
    byte[] bytes = resource("member-swag-v2.zip");
    MemberNetwork net = MemberModels.fromBytes(bytes);
    SwagMoments m = MemberModels.readSwag(bytes, "golden");
    assertEquals("a143ae315a117b731983891ff96c9581580f8b3243fb01870d8026fcedbbc7f1", MemberModels.paramsSha256(net));
    assertTrue(!m.hasBatchNorm());
    assertEquals(SwagMoments.VERSION, java.nio.ByteBuffer.wrap(m.toBytes()).getInt(4));
    String[] sha = {
        "70cb80c826060789e1a63a01d0f66996b21382359959c50f8f40f95df39da6ed",
        "976310761eadfedd02c9d4a1ecd32bf60671ab1e7093f7d3ae31209bc6af3ab5",
        "8994c42b3b616528dd701fb7f33dc938dda28049adc1108bf626db7a8a12759b"};
    float[][][] expected = {
        {{0.0801881f, 0.09650239f, 0.07902104f, 0.12435197f, 0.1432369f, 0.07963854f, 0.062324848f, 0.12283617f,
            0.11448024f, 0.09741976f},
         {0.081226386f, 0.09763202f, 0.0873614f, 0.11760326f, 0.1310732f, 0.08491722f, 0.07228364f, 0.115457706f,
            0.11217349f, 0.10027177f}},
        {{0.08027999f, 0.096441425f, 0.07905061f, 0.124431536f, 0.14317846f, 0.07964061f, 0.062333915f, 0.122723475f,
            0.11443744f, 0.097482584f},
         {0.08124236f, 0.09757931f, 0.08733878f, 0.117716245f, 0.13115935f, 0.08489065f, 0.07219355f, 0.11542228f,
            0.11215251f, 0.10030501f}},
        {{0.080455646f, 0.09627884f, 0.07896446f, 0.12450247f, 0.14331815f, 0.07957352f, 0.062233564f, 0.12289957f,
            0.114316456f, 0.09745731f},
         {0.08160869f, 0.09746791f, 0.0872836f, 0.11768948f, 0.13093574f, 0.08484096f, 0.07223625f, 0.11561339f,
            0.11199539f, 0.100328594f}}};
    MemberNetwork[] draws = MemberModels.swagSamples(net, m, 3, 1.0, 13, 0);
    TrainingSet v = Digits.part(true, 2);
    for (int d = 0; d < 3; d++) {
      assertEquals(sha[d], MemberModels.paramsSha256(draws[d]), "sample " + d);
      for (int i = 0; i < 2; i++) {
        assertArrayEquals(expected[d][i], MemberModels.predict(draws[d], v.features(i), 1, 64), 1e-6f,
            "sample " + d + ", row " + i);
      }
    }
  }
}
