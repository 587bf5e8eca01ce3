package io.deepens.spark.train;

import io.deepens.core.network.NativeWarmUp;
import io.deepens.core.random.Bootstrap;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.spark.data.FeatureDecoder;
import io.deepens.spark.data.LabeledRow;
import io.deepens.spark.data.PartitionProfiles;
import io.deepens.spark.data.TableProfile;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.Tuple2;

/**
 * The map side of the training shuffle, and the only pass over a table: each input partition is read once, every
 * row is folded into the partition's {@link TableProfile} (lengths, invalid rows with an example each, label
 * counts, split counts, content hash), and every valid row is copied once per member with its {@link MemberRowKey}.
 * When the partition is exhausted its profile goes to a {@link PartitionProfiles} accumulator; the driver checks
 * the merged profile before the member stage reads a single copy.
 *
 * <p>The feature length is not known before the pass, so each row is decoded at its own length. The driver's check
 * refuses the table unless every row is valid and all have one length, so a table that passes was shuffled exactly
 * as if the length had been known. Once a partition has seen a row that will make the check fail (an invalid row or
 * a second length), it stops writing copies: the shuffle of a refused table is never read.
 *
 * <p>A row that does not decode is not silently left out: each member gets one copy without features (a "refused"
 * row). Before the check these copies are never read; if Spark re-reads the table after the check (it recomputes
 * lost map output when an executor dies) and a row has become invalid, the member task meets that copy, or a copy
 * of the wrong length, and refuses its data before training ({@link MemberTask}).
 */
final class MemberCopies implements Serializable {
  private static final long serialVersionUID = 1L;

  private final FeatureDecoder decoder;
  private final int classes;
  private final int members;
  private final long[] orderSeeds;
  private final long[] bootstrapSeeds; // null without bootstrap
  private final double fraction;
  private final long splitSeed;
  private final boolean allValidation;
  private final PartitionProfiles profiles;

  /**
   * @param decoder the table's decoder; its feature length may be unknown (-1)
   * @param classes number of classes (label counts), 0 for regression
   * @param fraction validation fraction of the hash split (ignored when {@code allValidation})
   * @param allValidation true for a separate validation table: every row goes to every member's validation set
   * @param profiles where each partition's profile goes; registered with the SparkContext
   */
  MemberCopies(FeatureDecoder decoder, int classes, int members, long seed, boolean bootstrap, double fraction,
      long splitSeed, boolean allValidation, PartitionProfiles profiles) {
    this.decoder = decoder;
    this.classes = classes;
    this.members = members;
    this.orderSeeds = new long[members];
    this.bootstrapSeeds = bootstrap ? new long[members] : null;
    for (int m = 0; m < members; m++) {
      orderSeeds[m] = Seeds.derive(seed, m, SeedPurpose.ROW_ORDER, 0);
      if (bootstrap) {
        bootstrapSeeds[m] = Seeds.derive(seed, m, SeedPurpose.BOOTSTRAP, 0);
      }
    }
    this.fraction = fraction;
    this.splitSeed = splitSeed;
    this.allValidation = allValidation;
    this.profiles = profiles;
  }

  /** The copies of partition {@code partition}'s rows; the partition's profile is recorded when they run out. */
  Iterator<Tuple2<MemberRowKey, LabeledRow>> apply(int partition, Iterator<InternalRow> rows) {
    NativeWarmUp.inBackground(); // the members that run on this executor next will need ND4J
    return new PartitionPass(partition, rows);
  }

  /** True for the copy a member gets of a row that did not decode. */
  static boolean isRefused(LabeledRow row) {
    return row.features == null;
  }

  private final class PartitionPass implements Iterator<Tuple2<MemberRowKey, LabeledRow>> {
    private final int partition;
    private final Iterator<InternalRow> rows;
    private final TableProfile profile = new TableProfile(classes);
    private final List<Tuple2<MemberRowKey, LabeledRow>> pending = new ArrayList<>();
    private final float[] label = new float[1];
    private FeatureDecoder atLength = decoder;
    private int next;
    private long ordinal;
    private boolean refused; // this partition holds a row the check will refuse
    private boolean reported;
    private boolean started;
    private long startNanos;

    PartitionPass(int partition, Iterator<InternalRow> rows) {
      this.partition = partition;
      this.rows = rows;
    }

    @Override
    public boolean hasNext() {
      while (next == pending.size()) {
        pending.clear();
        next = 0;
        // the time spent in the input iterator is the reading any trainer pays; the rest of the pass is deepens'
        // per-row work and Spark's shuffle writer (timing in the manifest tells them apart)
        long t = System.nanoTime();
        if (!started) {
          started = true;
          startNanos = t;
        }
        boolean more = rows.hasNext();
        InternalRow r = more ? rows.next() : null;
        long t1 = System.nanoTime();
        profile.readNanos += t1 - t;
        if (!more) {
          if (!reported) {
            profile.passNanos = t1 - startNanos;
            profiles.put(partition, profile);
            reported = true;
          }
          return false;
        }
        read(r);
      }
      return true;
    }

    @Override
    public Tuple2<MemberRowKey, LabeledRow> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return pending.get(next++);
    }

    /** Profiles one row and queues its copies. */
    private void read(InternalRow r) {
      long i = ordinal++;
      profile.rows++;
      int len = decoder.featureLength(r);
      if (len < 0) {
        profile.addInvalid("null features", decoder.describe(r, i, partition) + ": features "
            + decoder.featureDescription() + " are null");
        refuse(i);
        return;
      }
      // describing a row builds a string: only for the first row of each length
      profile.addLength(len, profile.lengthExamples.containsKey(len) ? null : decoder.describe(r, i, partition));
      if (atLength.numFeatures() != len) {
        atLength = decoder.withNumFeatures(len);
      }
      float[] x = new float[len];
      String reason = atLength.decodeFeatures(r, x, 0);
      if (reason == null) {
        reason = atLength.decodeLabel(r, label);
      }
      if (reason != null) {
        profile.addInvalid(reason.replaceAll("-?\\d+(\\.\\d+)?(E-?\\d+)?", "#"),
            decoder.describe(r, i, partition) + ": " + reason);
        refuse(i);
        return;
      }
      long key = atLength.rowKey(r, x, 0, label[0]);
      // the content goes through mix64 first: without a key column the row key is the content key, and
      // key ^ content would be 0 for every row (a hash of the row count alone)
      profile.contentHash += Seeds.mix64(key ^ Seeds.mix64(FeatureDecoder.contentKey(x, 0, len, label[0])));
      if (classes > 0) {
        profile.labelCounts[(int) label[0]]++;
      }
      boolean validation = allValidation || FeatureDecoder.unit(key, splitSeed) < fraction;
      if (validation) {
        profile.validationRows++;
      }
      if (profile.lengths.size() > 1) {
        refuse(i);
      }
      if (refused) {
        return;
      }
      LabeledRow row = new LabeledRow(key, x, label[0]);
      for (int m = 0; m < members; m++) {
        if (validation) {
          pending.add(new Tuple2<>(new MemberRowKey(m, true, key, key), row));
          continue;
        }
        int copies = bootstrapSeeds != null ? Bootstrap.multiplicity(bootstrapSeeds[m], key) : 1;
        for (int c = 0; c < copies; c++) {
          long order = Seeds.rowOrderKey(orderSeeds[m], Seeds.mix64(key + c));
          pending.add(new Tuple2<>(new MemberRowKey(m, false, order, key), row));
        }
      }
    }

    /**
     * The first row that makes the check refuse the table (invalid, or of a second length) sends every member a
     * refused copy; from then on the partition sends nothing.
     */
    private void refuse(long rowOrdinal) {
      if (refused) {
        return;
      }
      refused = true;
      LabeledRow row = new LabeledRow(rowOrdinal, null, 0f);
      for (int m = 0; m < members; m++) {
        pending.add(new Tuple2<>(new MemberRowKey(m, false, Long.MIN_VALUE, rowOrdinal), row));
      }
    }
  }
}
