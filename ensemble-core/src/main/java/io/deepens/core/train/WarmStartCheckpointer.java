package io.deepens.core.train;

import io.deepens.core.InvalidInputException;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.network.NetworkFactory;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Warm start through {@link MemberTrainer}'s existing checkpoint hook: when a member has no checkpoint of its own
 * yet, {@link #latest} hands the trainer an "after epoch 0" checkpoint whose network is the one the spec builds
 * (the spec's layers, updater and learning-rate schedule, fresh updater state) with the parameters of the previous
 * version's member copied in. Training then runs all of the spec's epochs from those parameters with the usual
 * per-epoch seeds, so a warm-started run is as deterministic and as resumable as a cold one. Once the member has
 * saved a real checkpoint, that one wins (a retried task resumes from it). The checkpointer must be given the same
 * spec the trainer trains (the checkpoint carries its SHA-256).
 *
 * <p>A previous member whose parameter shapes differ from the spec's network fails with a message naming both (the
 * architecture or the feature count changed: train without warm start). A member with no previous network (it
 * diverged in the previous version) starts from its own seed as usual.
 */
public final class WarmStartCheckpointer implements Checkpointer {
  private final Checkpointer inner;
  private final EnsembleSpec spec;
  private final int numFeatures;
  private final IntFunction<MemberNetwork> previous;
  private final String source;

  /**
   * @param previous the previous version's network of a member, or null when it has none
   * @param source the previous version's name, for messages
   */
  public WarmStartCheckpointer(Checkpointer inner, EnsembleSpec spec, int numFeatures,
      IntFunction<MemberNetwork> previous, String source) {
    this.inner = inner == null ? Checkpointer.NONE : inner;
    this.spec = spec;
    this.numFeatures = numFeatures;
    this.previous = previous;
    this.source = source;
  }

  @Override
  public Optional<MemberCheckpoint> latest(int member) {
    Optional<MemberCheckpoint> own = inner.latest(member);
    if (own.isPresent()) {
      return own;
    }
    MemberNetwork prev = previous.apply(member);
    if (prev == null) {
      return Optional.empty();
    }
    MemberNetwork net =
        NetworkFactory.build(spec, numFeatures, Seeds.derive(spec.ensemble().seed(), member, SeedPurpose.INIT, 0));
    Map<String, INDArray> want = net.paramTable();
    Map<String, INDArray> have = prev.paramTable();
    boolean same = want.keySet().equals(have.keySet());
    for (String k : want.keySet()) {
      same &= have.containsKey(k) && Arrays.equals(want.get(k).shape(), have.get(k).shape());
    }
    InvalidInputException.check(same,
        "warm start from %s: member %d's parameters %s do not fit the spec's network %s (%d features); the "
            + "architecture or the input width changed: train without --warm-start", source, member, shapes(have),
        shapes(want), numFeatures);
    net.setParams(prev.params().castTo(net.params().dataType()));
    return Optional.of(new MemberCheckpoint(member, spec.sha256(), 0, -1, Double.POSITIVE_INFINITY, 0, false, List.of(),
        MemberModels.toBytes(net), null));
  }

  @Override
  public void save(int member, MemberCheckpoint checkpoint) {
    inner.save(member, checkpoint);
  }

  private static String shapes(Map<String, INDArray> table) {
    StringBuilder sb = new StringBuilder("{");
    table.forEach((k, v) -> sb.append(sb.length() > 1 ? ", " : "").append(k).append('=')
        .append(Arrays.toString(v.shape())));
    return sb.append('}').toString();
  }
}
