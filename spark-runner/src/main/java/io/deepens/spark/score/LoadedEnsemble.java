package io.deepens.spark.score;

import io.deepens.core.DeepensException;
import io.deepens.core.mixture.PosteriorMixture;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SwagSpec;
import io.deepens.core.train.SwagMoments;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.train.MemberModels;
import io.deepens.core.lean.LeanPath;
import io.deepens.core.lean.MlpEnsembleForward;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ensemble version loaded into this JVM: its members (loaded once, checksums verified), the mixture, and a pool
 * of per-thread copies of the networks (DL4J networks are not thread-safe, so concurrent tasks each borrow a set).
 * Cached per JVM by store, version and manifest checksum; never reloaded per partition or per row.
 *
 * <p>MultiSWAG ({@code ensemble.swag} in the manifest's spec): each member file's SWAG moments are sampled once, at
 * load, into S networks ({@link MemberModels#swagSamples}, seeded per ensemble seed, member index and sample), and
 * those S networks stand in for the member, member-major (network k·S + s is member k's sample s): the same layout
 * as Monte Carlo dropout's components, so the mixture and every scoring path treat them alike.
 */
public final class LoadedEnsemble {
  private static final Logger LOG = LoggerFactory.getLogger(LoadedEnsemble.class);
  private static final ConcurrentHashMap<String, LoadedEnsemble> CACHE = new ConcurrentHashMap<>();
  private static final java.util.concurrent.atomic.AtomicInteger LOADS = new java.util.concurrent.atomic.AtomicInteger();

  private final Manifest manifest;
  private final PosteriorMixture mixture;
  private final MemberNetwork[] prototypes;
  private final ConcurrentLinkedQueue<MemberNetwork[]> pool = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<MlpEnsembleForward> forwards = new ConcurrentLinkedQueue<>();
  /** Whether the members fit {@link MlpEnsembleForward}; null until first built. */
  private volatile Boolean fastEligible;
  /** Whether the scoring path was logged (once per ensemble loaded into this JVM). */
  private final java.util.concurrent.atomic.AtomicBoolean logged = new java.util.concurrent.atomic.AtomicBoolean();

  private LoadedEnsemble(Manifest manifest, MemberNetwork[] prototypes) {
    this.manifest = manifest;
    this.prototypes = prototypes;
    this.mixture = PosteriorMixture.of(manifest.weights()).withTemperature(manifest.temperature());
    pool.add(prototypes);
  }

  /** The cached ensemble for {@code (store, version)}, loading and verifying it on first use in this JVM. */
  public static LoadedEnsemble get(String storeUri, String manifestJson, String manifestSha, Configuration conf) {
    return CACHE.computeIfAbsent(storeUri + "#" + manifestSha, k -> load(storeUri, manifestJson, conf));
  }

  /** How many times this JVM loaded an ensemble from the store (tests check it stays at one per version). */
  public static int loads() {
    return LOADS.get();
  }

  private static LoadedEnsemble load(String storeUri, String manifestJson, Configuration conf) {
    try {
      Manifest m = EnsembleStore.json().readValue(manifestJson, Manifest.class);
      EnsembleStore store = EnsembleStore.open(storeUri, conf);
      List<Manifest.MemberEntry> members = m.usableMembers();
      EnsembleSpec spec = EnsembleSpec.fromJson(m.spec().toString());
      SwagSpec swag = spec.ensemble().swag();
      int perMember = swag == null ? 1 : swag.samples();
      MemberNetwork[] nets = new MemberNetwork[members.size() * perMember];
      for (int i = 0; i < members.size(); i++) {
        Manifest.MemberEntry e = members.get(i);
        byte[] bytes = store.readVerified(m.version(), e.file(), e.sha256());
        MemberNetwork net = MemberModels.read(new ByteArrayInputStream(bytes));
        if (swag == null) {
          nets[i] = net;
          continue;
        }
        String what = "member file " + e.file() + " of version " + m.version();
        SwagMoments moments = MemberModels.readSwag(bytes, what);
        if (moments == null) {
          throw new DeepensException(what + " holds no SWAG moments, but the version's spec has ensemble.swag;"
              + " the file does not belong to this version");
        }
        MemberNetwork[] draws = MemberModels.swagSamples(net, moments, perMember, swag.scale(),
            spec.ensemble().seed(), e.index());
        System.arraycopy(draws, 0, nets, i * perMember, perMember);
      }
      LOADS.incrementAndGet();
      LOG.info("loaded {} version {}: {} members{}", storeUri, m.version(), members.size(),
          swag == null ? "" : ", " + perMember + " SWAG samples each (" + nets.length + " networks)");
      return new LoadedEnsemble(m, nets);
    } catch (IOException e) {
      throw new DeepensException("cannot load ensemble from " + storeUri + ": " + e.getMessage(), e);
    }
  }

  public Manifest manifest() {
    return manifest;
  }

  public PosteriorMixture mixture() {
    return mixture;
  }

  /** A set of networks for this thread's exclusive use; give it back with {@link #release}. */
  public MemberNetwork[] borrow() {
    MemberNetwork[] nets = pool.poll();
    if (nets != null) {
      return nets;
    }
    MemberNetwork[] copy = new MemberNetwork[prototypes.length];
    synchronized (prototypes) {
      for (int i = 0; i < copy.length; i++) {
        copy[i] = prototypes[i].copy();
      }
    }
    return copy;
  }

  public void release(MemberNetwork[] nets) {
    pool.add(nets);
  }

  /**
   * The members' stacked MLP forward pass ({@link MlpEnsembleForward}) for batches of up to {@code maxBatch} rows,
   * for this thread's exclusive use (give it back with {@link #releaseForward}); null when {@link LeanPath} says DL4J:
   * members outside its supported set, a backend other than ND4J's CPU one, or {@code -Ddeepens.fastMlp=false}
   * (then use {@link #borrow}: each member's {@code output}, itself the lean CNN pass where {@link LeanPath} allows).
   * The first call logs the scoring path and its reason at INFO, once per ensemble loaded into this JVM.
   */
  public MlpEnsembleForward borrowForward(int maxBatch) {
    MultiLayerNetwork[] layered = multiLayerNetworks();
    LeanPath.Choice<MlpEnsembleForward> choice = LeanPath.choose(stackedKind(layered), () -> {
      if (Boolean.FALSE.equals(fastEligible)) {
        return java.util.Optional.empty();
      }
      MlpEnsembleForward f = forwards.poll();
      if (f != null && f.maxBatch() >= maxBatch) {
        return java.util.Optional.of(f);
      }
      java.util.Optional<MlpEnsembleForward> made;
      synchronized (prototypes) {
        made = MlpEnsembleForward.create(layered, maxBatch);
      }
      fastEligible = made.isPresent();
      return made;
    }, () -> "a member is outside MlpEnsembleForward's supported set or the members' input widths differ");
    if (logged.compareAndSet(false, true)) {
      LOG.info("version {} scores {}", manifest.version(), choice.lean() != null
          ? "through the stacked MLP forward pass: " + choice.decision().describe()
          : "member by member: " + memberPaths() + " (stacked MLP forward pass: " + choice.decision().describe() + ")");
    }
    return choice.lean();
  }

  /** A stacked MLP forward pass is possible only for multilayer networks that are not convolutional. */
  private static LeanPath.Kind stackedKind(MultiLayerNetwork[] layered) {
    if (layered == null) {
      return LeanPath.Kind.OTHER;
    }
    for (MultiLayerNetwork n : layered) {
      if (n.getLayerWiseConfigurations().getInputPreProcess(0)
          instanceof org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor) {
        return LeanPath.Kind.OTHER;
      }
    }
    return LeanPath.Kind.MLP;
  }

  /** The members' own forward paths, each distinct one once ("member 0, 1: LEAN path (...)"). */
  private String memberPaths() {
    java.util.Map<String, java.util.List<Integer>> byPath = new java.util.LinkedHashMap<>();
    synchronized (prototypes) {
      for (int i = 0; i < prototypes.length; i++) {
        byPath.computeIfAbsent(prototypes[i].forwardPath().describe(), k -> new java.util.ArrayList<>()).add(i);
      }
    }
    java.util.StringJoiner out = new java.util.StringJoiner("; ");
    byPath.forEach((path, members) -> out.add("members " + members + ": " + path));
    return out.toString();
  }

  /** The members as multilayer networks, or null when one is a computation graph (never a stacked MLP). */
  private MultiLayerNetwork[] multiLayerNetworks() {
    MultiLayerNetwork[] out = new MultiLayerNetwork[prototypes.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = prototypes[i].multiLayerNetwork().orElse(null);
      if (out[i] == null) {
        return null;
      }
    }
    return out;
  }

  /** Whether batches ran through {@link MlpEnsembleForward}: true or false once a batch ran, null before. */
  public Boolean stackedForward() {
    return fastEligible;
  }

  public void releaseForward(MlpEnsembleForward f) {
    if (f != null) {
      forwards.add(f);
    }
  }
}
