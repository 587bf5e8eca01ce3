package io.deepens.spark.train;

import io.deepens.core.DeepensException;
import io.deepens.core.stream.SplitCursor;
import io.deepens.core.stream.SplitTable;
import io.deepens.spark.data.FeatureDecoder;
import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * A table's Spark partitions as the {@link SplitTable} a streaming member reads, inside the member's task: split s is
 * partition s of the table's scan ({@code queryExecution().toRdd()}), read with
 * {@code rdd.iterator(partition, context)} in the member's own task, as Spark's {@code CoalescedRDD} reads its
 * parents' partitions: whatever the source (Parquet, ORC, CSV files on {@code file://}, {@code hdfs://},
 * {@code s3a://}, a Hive table), no shuffle and no local copy. Each {@link InternalRow} is decoded at once (the
 * reader reuses it). Spark's file readers close themselves when their file is exhausted, so a member that reads many
 * splits for many epochs holds at most two open readers at a time (its current split and the next one, which
 * {@link io.deepens.core.stream.MemberStream} opens ahead).
 *
 * <p>The driver checked the table before the member stage; a row that no longer decodes or has another length (the
 * table changed since) stops the member with a message saying so.
 */
final class TableSplits implements SplitTable {
  private final RDD<InternalRow> rdd;
  private final Partition[] partitions;
  private final TaskContext context;
  private final FeatureDecoder decoder;
  private final boolean allValidation;
  private final double fraction;
  private final long splitSeed;
  private final int member;

  /**
   * @param decoder the checked decoder (its feature length is the table's)
   * @param allValidation true for a separate validation table
   * @param fraction the hash split's validation fraction ({@code FeatureDecoder.unit(key, splitSeed) < fraction})
   */
  TableSplits(RDD<InternalRow> rdd, Partition[] partitions, TaskContext context, FeatureDecoder decoder,
      boolean allValidation, double fraction, long splitSeed, int member) {
    this.rdd = rdd;
    this.partitions = partitions;
    this.context = context;
    this.decoder = decoder;
    this.allValidation = allValidation;
    this.fraction = fraction;
    this.splitSeed = splitSeed;
    this.member = member;
  }

  int numFeatures() {
    return decoder.numFeatures();
  }

  @Override
  public int numSplits() {
    return partitions.length;
  }

  @Override
  public SplitCursor open(int split) {
    return new Cursor(split, rdd.iterator(partitions[split], context));
  }

  private final class Cursor implements SplitCursor {
    private final int split;
    private scala.collection.Iterator<InternalRow> rows;
    private final float[] x = new float[decoder.numFeatures()];
    private final float[] label = new float[1];
    private long key;
    private boolean validation;
    private long ordinal = -1;

    Cursor(int split, scala.collection.Iterator<InternalRow> rows) {
      this.split = split;
      this.rows = rows;
    }

    @Override
    public boolean next() {
      if (rows == null || !rows.hasNext()) {
        close();
        return false;
      }
      InternalRow r = rows.next();
      ordinal++;
      int len = decoder.featureLength(r);
      String reason = len != decoder.numFeatures() ? (len < 0 ? "its features are null" : "it has " + len
          + " features, expected " + decoder.numFeatures()) : decoder.decodeFeatures(r, x, 0);
      if (reason == null) {
        reason = decoder.decodeLabel(r, label);
      }
      if (reason != null) {
        throw new DeepensException("member " + member + " read a row that does not match the checked training data ("
            + decoder.describe(r, ordinal, split) + ": " + reason + "): the input table changed while the ensemble "
            + "trained. The member stops and nothing is published; train again on a table that does not change "
            + "while it is read");
      }
      key = decoder.rowKey(r, x, 0, label[0]);
      validation = allValidation || FeatureDecoder.unit(key, splitSeed) < fraction;
      return true;
    }

    @Override
    public long key() {
      return key;
    }

    @Override
    public float label() {
      return label[0];
    }

    @Override
    public boolean validation() {
      return validation;
    }

    @Override
    public float[] features() {
      return x;
    }

    @Override
    public void close() {
      // Spark's readers close when exhausted and at the task's end; an abandoned iterator is dropped here
      rows = null;
    }
  }
}
