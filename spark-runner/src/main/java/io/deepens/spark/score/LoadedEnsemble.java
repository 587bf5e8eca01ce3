package io.deepens.spark.score;

import io.deepens.core.DeepensException;
import io.deepens.core.mixture.PosteriorMixture;
import io.deepens.core.network.MemberNetwork;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.core.train.MemberModels;
import io.deepens.core.train.MemberTrainer;
import io.deepens.core.train.fast.MlpEnsembleForward;
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
  /** Whether the members fit {@link MlpEnsembleForward}; null until first asked. */
  private volatile Boolean fastEligible;

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
      MemberNetwork[] nets = new MemberNetwork[members.size()];
      for (int i = 0; i < nets.length; i++) {
        Manifest.MemberEntry e = members.get(i);
        byte[] bytes = store.readVerified(m.version(), e.file(), e.sha256());
        nets[i] = MemberModels.read(new ByteArrayInputStream(bytes));
      }
      LOADS.incrementAndGet();
      LOG.info("loaded {} version {}: {} members", storeUri, m.version(), nets.length);
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
   * for this thread's exclusive use (give it back with {@link #releaseForward}); null when the members are outside
   * its supported set (then use {@link #borrow} and DL4J's {@code output}) or {@code -Ddeepens.fastMlp=false}.
   */
  public MlpEnsembleForward borrowForward(int maxBatch) {
    if (Boolean.FALSE.equals(fastEligible)
        || !Boolean.parseBoolean(System.getProperty(MemberTrainer.FAST_MLP_PROPERTY, "true"))) {
      return null;
    }
    MlpEnsembleForward f = forwards.poll();
    if (f != null && f.maxBatch() >= maxBatch) {
      return f;
    }
    java.util.Optional<MlpEnsembleForward> made;
    MultiLayerNetwork[] layered = multiLayerNetworks();
    synchronized (prototypes) {
      made = layered == null ? java.util.Optional.empty() : MlpEnsembleForward.create(layered, maxBatch);
    }
    if (fastEligible == null) {
      fastEligible = made.isPresent();
      LOG.info("version {}: {}", manifest.version(), made.isPresent()
          ? "members run through the stacked MLP forward pass"
          : "members run one by one (the lean CNN forward pass where it fits, else DL4J's output())");
    }
    return made.orElse(null);
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
