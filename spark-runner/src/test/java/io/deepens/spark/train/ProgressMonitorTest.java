package io.deepens.spark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.store.EnsembleStore;
import io.deepens.core.train.EpochMetrics;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user sees of training: in a log one line per member and epoch, every epoch, even those that ended between
 * two polls, numbers rounded; on a terminal one live line per member.
 */
class ProgressMonitorTest {
  @TempDir Path tmp;

  static EpochMetrics epoch(int e, double loss, double nll, double acc) {
    return new EpochMetrics(e, loss, nll, acc, null, 0.003, 10L);
  }

  EnsembleStore storeWithTwoMembersAfterThreeAndTwoEpochs() {
    EnsembleStore store = EnsembleStore.open(tmp.resolve("store").toString(), new Configuration());
    ProgressWriter m0 = new ProgressWriter(store, "r", 0, 3);
    ProgressWriter m1 = new ProgressWriter(store, "r", 1, 3);
    m0.onEpoch(0, epoch(0, 1.40448, 0.55003, 0.92486));
    m0.onEpoch(0, epoch(1, 0.28919, 0.16807, 0.94220));
    m1.onEpoch(1, epoch(0, 1.07830, 0.36526, 0.93064));
    m0.onEpoch(0, epoch(2, 0.11084, 0.14623, 0.95954));
    m1.onEpoch(1, epoch(1, 0.24440, 0.15347, 0.96532));
    return store;
  }

  @Test
  void aLogGetsOneRoundedLinePerMemberAndEpochIncludingEpochsBetweenPolls() {
    EnsembleStore store = storeWithTwoMembersAfterThreeAndTwoEpochs();
    List<String> lines = new ArrayList<>();
    // a period far longer than the test: only the last poll at close() reads the progress files
    new ProgressMonitor(store, "r", 2, 3, 3_600_000, false, System.err, lines::add).close();
    assertEquals(List.of(
        "member 0 epoch 1/3: loss 1.404, validation NLL 0.550, accuracy 92.5%",
        "member 0 epoch 2/3: loss 0.289, validation NLL 0.168, accuracy 94.2%",
        "member 0 epoch 3/3: loss 0.111, validation NLL 0.146, accuracy 96.0%",
        "member 1 epoch 1/3: loss 1.078, validation NLL 0.365, accuracy 93.1%",
        "member 1 epoch 2/3: loss 0.244, validation NLL 0.153, accuracy 96.5%"), lines);
  }

  @Test
  void aTerminalGetsALiveLinePerMember() {
    EnsembleStore store = storeWithTwoMembersAfterThreeAndTwoEpochs();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    List<String> lines = new ArrayList<>();
    ProgressMonitor monitor = new ProgressMonitor(store, "r", 2, 3, 3_600_000, true,
        new PrintStream(bytes, true, StandardCharsets.UTF_8), lines::add);
    monitor.poll();
    monitor.close();
    String screen = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(List.of(), lines, "nothing logged: the live lines say it");
    assertTrue(screen.contains("member 0 [####################] epoch 3/3  loss 0.111, validation NLL 0.146, "
        + "accuracy 96.0%  ETA done"), screen);
    assertTrue(screen.contains("member 1 [#############.......] epoch 2/3  loss 0.244"), screen);
    assertTrue(screen.contains("\033[2A"), "the second drawing moves up over the first two lines: " + screen);
  }
}
