package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.Placement;
import io.deepens.core.spec.SpecLoader;
import io.deepens.core.stream.MemberStream;
import io.deepens.core.stream.SplitCursor;
import io.deepens.core.stream.SplitTable;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Members trained on a stream ({@code data.placement: stream}): same seed, same parameters; members differ; a member
 * stopped within an epoch and resumed from its mid-epoch checkpoint ends bit-identical to an undisturbed one, on the
 * {@code fit} path (dropout, batch norm) and on the lean MLP step; SWAG on a stream collects the moments of its
 * snapshots and resumes mid-SWAG-epoch to the same member.
 */
class MemberTrainerStreamTest {
  /** Digits rows (id % 5 == 0 validate) dealt to 6 splits in runs. */
  static final SplitTable DIGITS = new SplitTable() {
    @Override
    public int numSplits() {
      return 6;
    }

    @Override
    public SplitCursor open(int split) {
      int rows = Digits.DATA.rows();
      int from = split * rows / 6;
      int to = (split + 1) * rows / 6;
      return new SplitCursor() {
        int i = from - 1;

        @Override
        public boolean next() {
          return ++i < to;
        }

        @Override
        public long key() {
          return Seeds.rowKey(Digits.DATA.id(i));
        }

        @Override
        public float label() {
          return Digits.DATA.label(i);
        }

        @Override
        public boolean validation() {
          return Digits.DATA.id(i) % 5 == 0;
        }

        @Override
        public float[] features() {
          return Digits.DATA.features(i);
        }

        @Override
        public void close() {}
      };
    }
  };

  static EnsembleSpec spec(String network, long checkpointEveryRows) {
    String yaml = Digits.yaml(network, """
          optimizer: adam
          learningRate: 0.005
          batchSize: 32
          epochs: 3
        """ + (checkpointEveryRows > 0 ? "  checkpointEveryRows: " + checkpointEveryRows + "\n" : ""))
        .replace("  inputShape: [1, 8, 8]\n", "  inputShape: [1, 8, 8]\n  placement: stream\n  shuffleBuffer: 200\n");
    return SpecLoader.parse(yaml, "stream");
  }

  static final String FIT_NETWORK = """
        type: mlp
        hidden: [32, 16]
        dropout: 0.2
        batchNorm: true
      """;
  static final String LEAN_NETWORK = """
        type: mlp
        hidden: [32]
      """;

  static MemberStream stream(EnsembleSpec spec, int member) {
    return new MemberStream(DIGITS, null, 64, spec.ensemble().seed(), member, spec.ensemble().bootstrap(),
        spec.data().shuffleBuffer(), 1L << 30);
  }

  @Test
  void sameSeedGivesIdenticalMembersAndMembersDiffer() {
    EnsembleSpec spec = spec(FIT_NETWORK, 0);
    assertEquals(Placement.STREAM, spec.data().placement());
    MemberResult a = MemberTrainer.train(spec, 1, stream(spec, 1), null, null);
    MemberResult b = MemberTrainer.train(spec, 1, stream(spec, 1), null, null);
    assertEquals(a.report().paramsSha256(), b.report().paramsSha256());
    assertArrayEquals(a.network().params().toFloatVector(), b.network().params().toFloatVector(), 0f);
    MemberResult c = MemberTrainer.train(spec, 2, stream(spec, 2), null, null);
    assertNotEquals(a.report().paramsSha256(), c.report().paramsSha256());
    assertEquals(Digits.train().numRows(), a.report().trainRows());
    assertEquals(Digits.validation().numRows(), a.report().validationRows());
    Double accuracy = a.report().epochs().get(2).validationAccuracy();
    assertTrue(accuracy > 0.85, "a streamed member learns digits: validation accuracy " + accuracy);
  }

  @Test
  void resumingWithinAnEpochGivesBitIdenticalParametersOnTheFitPath() {
    resumeWithinEpoch(FIT_NETWORK);
  }

  @Test
  void resumingWithinAnEpochGivesBitIdenticalParametersOnTheLeanStep() {
    resumeWithinEpoch(LEAN_NETWORK);
  }

  /**
   * Saves into {@code store}, and then fails like a lost executor at the first checkpoint at least {@code rows} rows
   * into epoch {@code epoch}.
   */
  static Checkpointer crashingAt(InMemoryCheckpointer store, int epoch, long rows) {
    return new Checkpointer() {
      @Override
      public Optional<MemberCheckpoint> latest(int member) {
        return store.latest(member);
      }

      @Override
      public void save(int member, MemberCheckpoint checkpoint) {
        store.save(member, checkpoint);
        if (checkpoint.epochsCompleted() == epoch && checkpoint.rowsInEpoch() >= rows) {
          throw new IllegalStateException("executor lost");
        }
      }
    };
  }

  private void resumeWithinEpoch(String network) {
    EnsembleSpec spec = spec(network, 320);
    MemberResult undisturbed = MemberTrainer.train(spec, 0, stream(spec, 0), new InMemoryCheckpointer(), null);
    InMemoryCheckpointer store = new InMemoryCheckpointer();
    Checkpointer crashing = crashingAt(store, 1, 640);
    assertThrows(IllegalStateException.class, () -> MemberTrainer.train(spec, 0, stream(spec, 0), crashing, null));
    MemberCheckpoint at = store.latest(0).orElseThrow();
    assertEquals(1, at.epochsCompleted());
    assertEquals(640, at.rowsInEpoch());
    MemberCheckpoint read = MemberCheckpoint.fromBytes(at.toBytes());
    assertEquals(640, read.rowsInEpoch());
    assertEquals(at.lossSumInEpoch(), read.lossSumInEpoch(), 0.0);
    MemberResult resumed = MemberTrainer.train(spec, 0, stream(spec, 0), store, null);
    assertEquals(1, resumed.report().resumedFromEpoch());
    assertEquals(undisturbed.report().paramsSha256(), resumed.report().paramsSha256());
    assertEquals(undisturbed.report().epochs().get(1).trainLoss(), resumed.report().epochs().get(1).trainLoss(), 0.0);
    assertEquals(undisturbed.report().epochs().get(2).validationNll(), resumed.report().epochs().get(2).validationNll());
  }

  /** The stream spec with {@code ensemble.swag}: 2 SWAG epochs of SGD after the 3 Adam epochs. */
  static EnsembleSpec swagSpec(String network, long checkpointEveryRows, int snapshotsPerEpoch) {
    String yaml = spec(network, checkpointEveryRows).toJson().replace("\"mcDropoutSamples\":0",
        "\"mcDropoutSamples\":0,\"swag\":{\"epochs\":2,\"learningRate\":0.02,\"snapshotsPerEpoch\":"
            + snapshotsPerEpoch + ",\"rank\":2,\"samples\":4}");
    EnsembleSpec s = SpecLoader.parse(yaml, "stream-swag");
    assertEquals(5, s.totalEpochs(), "the SWAG section was added");
    return s;
  }

  @Test
  void swagOnAStreamCollectsTheMomentsOfItsSnapshots() {
    EnsembleSpec spec = swagSpec(LEAN_NETWORK, 0, 1);
    SwagTest.Recorder rec = new SwagTest.Recorder();
    MemberResult r = MemberTrainer.train(spec, 0, stream(spec, 0), rec, null);
    assertEquals(MemberStatus.OK, r.report().status());
    assertEquals(5, rec.saved.size());
    // one snapshot per SWAG epoch, after its last minibatch: the parameters of the SWAG epochs' checkpoints
    SwagTest.assertMomentsOf(new float[][] {SwagTest.params(rec.saved.get(3)), SwagTest.params(rec.saved.get(4))},
        r.swag());
    assertEquals(0.02, r.report().epochs().get(4).learningRate(), 0.0);
    // three per epoch: after minibatches floor(j * B / 3), B = the epoch's minibatches, as for a copied member
    MemberResult three = MemberTrainer.train(swagSpec(LEAN_NETWORK, 0, 3), 0, stream(spec, 0), null, null);
    assertEquals(6, three.swag().count());
    // batch norm's per-sample statistics need the stored rows: refused for a stream, with what to change
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> swagSpec(FIT_NETWORK.replace(
        "dropout: 0.2", "dropout: 0.0"), 0, 1));
    assertTrue(e.getMessage().contains("ensemble.swag with network.batchNorm needs data.placement: copy"),
        e.getMessage());
  }

  @Test
  void resumingWithinASwagEpochGivesTheSameMemberAndMoments() {
    EnsembleSpec spec = swagSpec(LEAN_NETWORK, 320, 3);
    MemberResult undisturbed = MemberTrainer.train(spec, 0, stream(spec, 0), new InMemoryCheckpointer(), null);
    InMemoryCheckpointer store = new InMemoryCheckpointer();
    Checkpointer crashing = crashingAt(store, 4, 640); // in the second SWAG epoch
    assertThrows(IllegalStateException.class, () -> MemberTrainer.train(spec, 0, stream(spec, 0), crashing, null));
    MemberCheckpoint at = MemberCheckpoint.fromBytes(store.latest(0).orElseThrow().toBytes());
    assertEquals(4, at.epochsCompleted());
    assertEquals(640, at.rowsInEpoch());
    // 3 snapshots of the first SWAG epoch, and those of the second after minibatch floor(j * B / 3) <= 20
    int batches = (Digits.train().numRows() + 31) / 32;
    int taken = 0;
    for (int j = 1; j <= 3; j++) {
      taken += j * batches / 3 <= 640 / 32 ? 1 : 0;
    }
    assertTrue(taken >= 1 && taken < 3, "the crash falls between two snapshots of the epoch: " + taken);
    assertEquals(3 + taken, SwagMoments.fromBytes(at.swagMoments(), "checkpoint").count());
    MemberResult resumed = MemberTrainer.train(spec, 0, stream(spec, 0), store, null);
    assertEquals(4, resumed.report().resumedFromEpoch());
    assertEquals(6, resumed.swag().count());
    assertEquals(undisturbed.report().paramsSha256(), resumed.report().paramsSha256());
    assertArrayEquals(undisturbed.swag().toBytes(), resumed.swag().toBytes());
  }
}
