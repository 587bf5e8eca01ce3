package io.deepens.spark.train;

import io.deepens.core.stream.ReadAheadSplits;
import io.deepens.core.stream.SplitTable;
import io.deepens.spark.data.FeatureDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.apache.spark.Dependency;
import org.apache.spark.NarrowDependency;
import org.apache.spark.Partition;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.TaskContext$;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;

/**
 * The member stage of the streaming placement: one partition per member, whose task reads every partition of the
 * training table's scan (and of the validation table's) itself, in the member's order, through {@link TableSplits}.
 * Its dependencies are narrow ones in which every member partition depends on all the table's partitions (as
 * Spark's {@code CartesianRDD} and {@code CoalescedRDD} declare theirs), so the table is read inside the member
 * tasks with no shuffle between, and the scheduler runs the whole training as one stage.
 */
final class MemberStreamRDD extends RDD<MemberOutcome> {
  private static final long serialVersionUID = 1L;
  /**
   * Blocks of {@value #READ_AHEAD_BLOCK_ROWS} decoded rows a streaming member's reader thread may hold ready ahead of
   * its training (0: the member's task thread reads the table itself).
   */
  static final String READ_AHEAD = "spark.deepens.stream.readAhead";
  static final int DEFAULT_READ_AHEAD = 4;
  /** KiB of feature values per batch of Spark's vectorized readers in the members' scans; 0 keeps Spark's batch. */
  static final String READER_BATCH_KIB = "spark.deepens.stream.readerBatchKiB";
  static final long DEFAULT_READER_BATCH_KIB = 256;
  static final int READ_AHEAD_BLOCK_ROWS = 256;

  private final RDD<InternalRow> train;
  private final RDD<InternalRow> validation; // null: the hash split of train
  private final int members;
  private final MemberTask task;
  private final FeatureDecoder trainDecoder;
  private final FeatureDecoder validationDecoder;
  private final double fraction;
  private final long splitSeed;

  MemberStreamRDD(RDD<InternalRow> train, RDD<InternalRow> validation, int members, MemberTask task,
      FeatureDecoder trainDecoder, FeatureDecoder validationDecoder, double fraction, long splitSeed) {
    super(train.context(), dependencies(train, validation), ClassTag$.MODULE$.apply(MemberOutcome.class));
    this.train = train;
    this.validation = validation;
    this.members = members;
    this.task = task;
    this.trainDecoder = trainDecoder;
    this.validationDecoder = validationDecoder;
    this.fraction = fraction;
    this.splitSeed = splitSeed;
  }

  private static scala.collection.Seq<Dependency<?>> dependencies(RDD<InternalRow> train,
      RDD<InternalRow> validation) {
    List<Dependency<?>> deps = new ArrayList<>();
    deps.add(new AllPartitions(train));
    if (validation != null) {
      deps.add(new AllPartitions(validation));
    }
    return JavaConverters.asScalaBuffer(deps).toSeq();
  }

  /** Every child partition depends on every partition of the parent. */
  static final class AllPartitions extends NarrowDependency<InternalRow> {
    private static final long serialVersionUID = 1L;

    AllPartitions(RDD<InternalRow> parent) {
      super(parent);
    }

    @Override
    public scala.collection.Seq<Object> getParents(int partitionId) {
      int n = rdd().partitions().length;
      List<Object> all = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        all.add(i);
      }
      return JavaConverters.asScalaBuffer(all).toSeq();
    }
  }

  /** Member m's partition; it carries the tables' partitions (serialised with the task, as CoalescedRDD's do). */
  static final class MemberPartition implements Partition {
    private static final long serialVersionUID = 1L;
    final int member;
    final Partition[] train;
    final Partition[] validation;

    MemberPartition(int member, Partition[] train, Partition[] validation) {
      this.member = member;
      this.train = train;
      this.validation = validation;
    }

    @Override
    public int index() {
      return member;
    }

    @Override
    public int hashCode() {
      return member;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof MemberPartition p && p.member == member;
    }
  }

  @Override
  public Partition[] getPartitions() {
    Partition[] t = train.partitions();
    Partition[] v = validation == null ? null : validation.partitions();
    Partition[] out = new Partition[members];
    for (int m = 0; m < members; m++) {
      out[m] = new MemberPartition(m, t, v);
    }
    return out;
  }

  /**
   * {@code splits} read on a second thread ({@link ReadAheadSplits}) when {@link #READ_AHEAD} is above 0, that
   * thread given the task's context (Spark's file readers look up the task of their thread, for its metrics, its
   * completion listeners and its kill flag).
   */
  private SplitTable readAhead(TableSplits splits, TaskContext context, int member) {
    int depth = SparkEnv.get() == null ? DEFAULT_READ_AHEAD : SparkEnv.get().conf().getInt(READ_AHEAD,
        DEFAULT_READ_AHEAD);
    if (depth <= 0) {
      return splits;
    }
    UnaryOperator<Runnable> inTask = body -> () -> {
      TaskContext$.MODULE$.setTaskContext(context);
      try {
        body.run();
      } finally {
        TaskContext$.MODULE$.unset();
      }
    };
    return new ReadAheadSplits(splits, splits.numFeatures(), READ_AHEAD_BLOCK_ROWS, depth, inTask,
        "deepens-member-" + member + "-read-ahead");
  }

  @Override
  public scala.collection.Iterator<MemberOutcome> compute(Partition split, TaskContext context) {
    MemberPartition p = (MemberPartition) split;
    SplitTable trainSplits = readAhead(new TableSplits(train, p.train, context, trainDecoder, false, fraction,
        splitSeed, p.member), context, p.member);
    SplitTable valSplits = validation == null ? null : readAhead(new TableSplits(validation, p.validation, context,
        validationDecoder, true, 1.0, splitSeed, p.member), context, p.member);
    try {
      return JavaConverters.asScalaIterator(task.runStream(p.member, trainSplits, valSplits));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
