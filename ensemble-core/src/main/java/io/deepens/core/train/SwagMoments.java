package io.deepens.core.train;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;

/**
 * The SWAG moments of one member's weights (Maddox, Garipov, Izmailov, Vetrov and Wilson 2019, "A Simple Baseline
 * for Bayesian Uncertainty in Deep Learning"): over the snapshots θ_1 … θ_n collected during the SWAG epochs, the
 * running mean θ̄_n = θ̄_{n−1} + (θ_n − θ̄_{n−1}) / n, the running mean of the squares
 * m̄_n = m̄_{n−1} + (θ_n² − m̄_{n−1}) / n (both in double precision), and the last K deviations
 * D_{·i} = θ_i − θ̄_i (θ̄_i the mean after snapshot i, as in the paper; float32, kept in a ring).
 *
 * <p>The SWAG Gaussian is N(θ̄, ½(Σ_diag + D Dᵀ / (K − 1))) with Σ_diag = max(m̄ − θ̄², 0) elementwise and K the
 * columns held. {@link #sample} draws from it as θ̄ + √(Σ_diag / 2) ⊙ z₁ + D z₂ / √(2(K − 1)), z₁ ~ N(0, I_P),
 * z₂ ~ N(0, I_K): first the K values of z₂, then the P values of z₁, from one {@link SplittableRandom} seeded by
 * the caller, so a sample depends only on the moments and the seed. Not thread-safe.
 *
 * <p>Batch norm ({@link SwagBatchNorm}): the moments of a member with batch-norm layers are over its trainable
 * parameters only (P = {@link SwagBatchNorm#trainableIndices}, the running statistics excluded), and at the end of
 * training the member attaches S sets of batch-norm statistics ({@link #withBatchNorm}), set j computed under the
 * weights of {@link #component}(seed, member, j, scale), the draw scoring makes for component j.
 *
 * <p>Bytes ({@link #toBytes()}, big-endian): magic {@code "DSWG"}, int version, int P, int K (capacity),
 * long n, int columns held, int next ring slot, P doubles θ̄, P doubles m̄, then the ring's columns slot by slot
 * (columns held × P floats). Version 1 ends there and is what moments without batch-norm statistics are written as
 * (byte for byte as before); version 2 (batch norm) adds int S, int L and S × L floats, the S sets of statistics.
 * Both versions are read.
 */
public final class SwagMoments {
  private static final int MAGIC = 0x44535747; // "DSWG"
  /** The layout version of {@link #toBytes()} without batch-norm statistics. */
  public static final int VERSION = 1;
  /** The layout version of {@link #toBytes()} with batch-norm statistics (the newest this build reads). */
  public static final int VERSION_BATCH_NORM = 2;

  private final int numParams;
  private final int rank;
  private long count;
  private final double[] mean;
  private final double[] sqMean;
  private final float[][] ring;
  private int held;
  private int next;
  /** S sets of batch-norm statistics (S × L), or null for a network without batch norm. */
  private float[][] batchNorm;

  /** Empty moments for {@code numParams} weights keeping the last {@code rank} deviations. */
  public SwagMoments(int numParams, int rank) {
    InvalidInputException.check(numParams >= 1, "SWAG moments need >= 1 parameter, found %d", numParams);
    InvalidInputException.check(rank >= 1, "SWAG rank must be >= 1, found %d", rank);
    this.numParams = numParams;
    this.rank = rank;
    this.mean = new double[numParams];
    this.sqMean = new double[numParams];
    this.ring = new float[rank][];
  }

  /** Adds snapshot θ (length P). */
  public void collect(float[] theta) {
    InvalidInputException.check(theta.length == numParams,
        "a SWAG snapshot must have %d parameters, found %d", numParams, theta.length);
    count++;
    double inv = 1.0 / count;
    float[] dev = ring[next] == null ? new float[numParams] : ring[next];
    for (int j = 0; j < numParams; j++) {
      double t = theta[j];
      mean[j] += (t - mean[j]) * inv;
      sqMean[j] += (t * t - sqMean[j]) * inv;
      dev[j] = (float) (t - mean[j]);
    }
    ring[next] = dev;
    next = (next + 1) % rank;
    held = Math.min(held + 1, rank);
  }

  public int numParams() {
    return numParams;
  }

  /** K, the deviation columns kept at most. */
  public int rank() {
    return rank;
  }

  /** Snapshots collected, n. */
  public long count() {
    return count;
  }

  /** θ̄ (a copy). */
  public double[] mean() {
    return mean.clone();
  }

  /** θ̄ as float32, the SWA weights. */
  public float[] meanAsFloats() {
    float[] f = new float[numParams];
    for (int j = 0; j < numParams; j++) {
      f[j] = (float) mean[j];
    }
    return f;
  }

  /** The running mean of θ² (a copy). */
  public double[] squareMean() {
    return sqMean.clone();
  }

  /** Σ_diag = max(m̄ − θ̄², 0) elementwise (the clamp removes rounding below zero). */
  public double[] diagonalVariance() {
    double[] v = new double[numParams];
    for (int j = 0; j < numParams; j++) {
      v[j] = Math.max(sqMean[j] - mean[j] * mean[j], 0.0);
    }
    return v;
  }

  /** The deviation columns held, oldest first: element [i][j] is D_{j,i} (copies). */
  public float[][] deviations() {
    float[][] d = new float[held][];
    int first = held < rank ? 0 : next;
    for (int i = 0; i < held; i++) {
      d[i] = ring[(first + i) % rank].clone();
    }
    return d;
  }

  /**
   * Attaches S sets of batch-norm statistics ({@link SwagBatchNorm#compute}'s layout, all of one length), set j
   * for the draw {@link #component}(seed, member, j, scale); arrays are kept, not copied.
   */
  public void withBatchNorm(float[][] sets) {
    InvalidInputException.check(sets != null && sets.length >= 1, "batch-norm statistics need >= 1 set");
    for (float[] set : sets) {
      InvalidInputException.check(set != null && set.length == sets[0].length && set.length >= 1,
          "every set of batch-norm statistics must hold the same number (>= 1) of values");
    }
    batchNorm = sets;
  }

  /** True when batch-norm statistics are attached. */
  public boolean hasBatchNorm() {
    return batchNorm != null;
  }

  /** The number of attached sets of batch-norm statistics, 0 without. */
  public int batchNormSets() {
    return batchNorm == null ? 0 : batchNorm.length;
  }

  /** Set {@code j} of the batch-norm statistics (a copy). */
  public float[] batchNorm(int j) {
    InvalidInputException.check(batchNorm != null && j >= 0 && j < batchNorm.length,
        "no batch-norm statistics for SWAG sample %d (the moments hold %d sets)", j, batchNormSets());
    return batchNorm[j].clone();
  }

  /** One draw from the SWAG Gaussian with a {@link SplittableRandom} seeded by {@code seed} (see the class comment). */
  public float[] sample(long seed) {
    return sample(seed, 1.0);
  }

  /**
   * Mixture component j of member {@code member}: {@code sample(Seeds.derive(ensembleSeed, member, SWAG_SAMPLE, j),
   * scale)}. Scoring, the validation outputs and the batch-norm statistics of SWAG samples all draw through here, so
   * the statistics belong to the very weights scoring uses.
   */
  public float[] component(long ensembleSeed, int member, int j, double scale) {
    return sample(Seeds.derive(ensembleSeed, member, SeedPurpose.SWAG_SAMPLE, j), scale);
  }

  /**
   * One draw from the SWAG Gaussian with its covariance multiplied by {@code scale} ({@code ensemble.swag.scale}):
   * θ̄ + √scale · (√(Σ_diag / 2) ⊙ z₁ + D z₂ / √(2(K − 1))), the same z₁, z₂ as {@link #sample(long)} draws.
   */
  public float[] sample(long seed, double scale) {
    InvalidInputException.check(count >= 1, "SWAG moments hold no snapshot: nothing to sample from");
    InvalidInputException.check(Double.isFinite(scale) && scale > 0, "SWAG covariance scale must be > 0, found %s",
        scale);
    double root = Math.sqrt(scale);
    SplittableRandom rnd = new SplittableRandom(seed);
    float[][] d = deviations();
    int k = d.length;
    double[] z2 = new double[k];
    for (int i = 0; i < k; i++) {
      z2[i] = rnd.nextGaussian();
    }
    double lowRank = k >= 2 ? root / Math.sqrt(2.0 * (k - 1)) : 0.0;
    float[] out = new float[numParams];
    for (int j = 0; j < numParams; j++) {
      double v = Math.max(sqMean[j] - mean[j] * mean[j], 0.0);
      double x = mean[j] + root * Math.sqrt(v / 2.0) * rnd.nextGaussian();
      double dz = 0;
      for (int i = 0; i < k; i++) {
        dz += d[i][j] * z2[i];
      }
      out[j] = (float) (x + lowRank * dz);
    }
    return out;
  }

  /** The bytes of the class comment's layout. */
  public byte[] toBytes() {
    int bnBytes = batchNorm == null ? 0 : 8 + 4 * batchNorm.length * batchNorm[0].length;
    ByteBuffer b = ByteBuffer.allocate(32 + 16 * numParams + 4 * held * numParams + bnBytes);
    b.putInt(MAGIC).putInt(batchNorm == null ? VERSION : VERSION_BATCH_NORM).putInt(numParams).putInt(rank)
        .putLong(count).putInt(held).putInt(next);
    for (double v : mean) {
      b.putDouble(v);
    }
    for (double v : sqMean) {
      b.putDouble(v);
    }
    for (int i = 0; i < held; i++) {
      for (float v : ring[i]) {
        b.putFloat(v);
      }
    }
    if (batchNorm != null) {
      b.putInt(batchNorm.length).putInt(batchNorm[0].length);
      for (float[] set : batchNorm) {
        for (float v : set) {
          b.putFloat(v);
        }
      }
    }
    return b.array();
  }

  /** Reads {@link #toBytes()}; {@code what} names the source in errors (e.g. the member file). */
  public static SwagMoments fromBytes(byte[] bytes, String what) {
    try {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      int magic = b.getInt();
      if (magic != MAGIC) {
        throw new DeepensException(String.format("%s: not SWAG moments (magic 0x%08X)", what, magic));
      }
      int version = b.getInt();
      if (version != VERSION && version != VERSION_BATCH_NORM) {
        throw new DeepensException(what + ": SWAG moments version " + version + " (this build reads "
            + VERSION + " and " + VERSION_BATCH_NORM + "): upgrade deepens");
      }
      int p = b.getInt();
      int rank = b.getInt();
      long count = b.getLong();
      int held = b.getInt();
      int next = b.getInt();
      if (p < 1 || rank < 1 || held < 0 || held > rank || next < 0 || next >= rank || count < held
          || (version == VERSION ? b.remaining() != 16L * p + 4L * held * p
              : b.remaining() < 16L * p + 4L * held * p + 8)) {
        throw new DeepensException(what + ": damaged SWAG moments (P " + p + ", K " + rank + ", held " + held
            + ", " + b.remaining() + " bytes left)");
      }
      SwagMoments m = new SwagMoments(p, rank);
      m.count = count;
      m.held = held;
      m.next = next;
      for (int j = 0; j < p; j++) {
        m.mean[j] = b.getDouble();
      }
      for (int j = 0; j < p; j++) {
        m.sqMean[j] = b.getDouble();
      }
      for (int i = 0; i < held; i++) {
        m.ring[i] = new float[p];
        for (int j = 0; j < p; j++) {
          m.ring[i][j] = b.getFloat();
        }
      }
      if (version == VERSION_BATCH_NORM) {
        int sets = b.getInt();
        int len = b.getInt();
        if (sets < 1 || len < 1 || b.remaining() != 4L * sets * len) {
          throw new DeepensException(what + ": damaged SWAG batch-norm statistics (" + sets + " sets of " + len
              + ", " + b.remaining() + " bytes left)");
        }
        m.batchNorm = new float[sets][len];
        for (float[] set : m.batchNorm) {
          for (int j = 0; j < len; j++) {
            set[j] = b.getFloat();
          }
        }
      }
      return m;
    } catch (java.nio.BufferUnderflowException e) {
      throw new DeepensException(what + ": SWAG moments are truncated", e);
    }
  }
}
