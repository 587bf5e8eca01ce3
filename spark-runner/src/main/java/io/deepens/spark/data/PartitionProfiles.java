package io.deepens.spark.data;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.spark.util.AccumulatorV2;
import scala.Tuple2;

/**
 * Brings the {@link TableProfile} of every input partition of a table back from the tasks that read it, as a side
 * result of a stage that does other work (the training shuffle's map side). Profiles are kept per partition and a
 * partition's profile <em>replaces</em> any earlier one: a retried or speculative task, or a map stage that Spark
 * recomputes after losing an executor, reports the same partition again, and the merged profile still counts every
 * row once. (Spark applies an accumulator update once per successful task, so an adding accumulator would count a
 * recomputed partition twice.)
 *
 * <p>Register it with {@code SparkContext.register} before the stage runs; read {@link #merged} after it.
 */
public final class PartitionProfiles
    extends AccumulatorV2<Tuple2<Integer, TableProfile>, SortedMap<Integer, TableProfile>> {
  private static final long serialVersionUID = 1L;

  private final int classes;
  private final TreeMap<Integer, TableProfile> byPartition = new TreeMap<>();

  /** @param classes number of classes (label counts), 0 for regression */
  public PartitionProfiles(int classes) {
    this.classes = classes;
  }

  /** Records the profile of {@code partition}, replacing one recorded before. */
  public synchronized void put(int partition, TableProfile profile) {
    byPartition.put(partition, profile);
  }

  /**
   * The profiles of all {@code partitions} partitions merged in partition order (so the example chosen for each
   * problem does not depend on which task finished first).
   *
   * @throws IllegalStateException if a partition has not reported (the stage that reads the table has not run
   *     to completion)
   */
  public synchronized TableProfile merged(int partitions) {
    if (byPartition.size() != partitions
        || (partitions > 0 && (byPartition.firstKey() != 0 || byPartition.lastKey() != partitions - 1))) {
      throw new IllegalStateException("profiles of " + byPartition.size() + " partitions " + byPartition.keySet()
          + " were collected, expected partitions 0.." + (partitions - 1));
    }
    TableProfile total = new TableProfile(classes);
    byPartition.values().forEach(total::merge);
    return total;
  }

  @Override
  public synchronized boolean isZero() {
    return byPartition.isEmpty();
  }

  @Override
  public synchronized PartitionProfiles copy() {
    PartitionProfiles c = new PartitionProfiles(classes);
    c.byPartition.putAll(byPartition);
    return c;
  }

  @Override
  public synchronized void reset() {
    byPartition.clear();
  }

  @Override
  public void add(Tuple2<Integer, TableProfile> partitionProfile) {
    put(partitionProfile._1(), partitionProfile._2());
  }

  @Override
  public void merge(AccumulatorV2<Tuple2<Integer, TableProfile>, SortedMap<Integer, TableProfile>> other) {
    if (!(other instanceof PartitionProfiles o)) {
      throw new UnsupportedOperationException("cannot merge " + getClass().getName() + " with "
          + other.getClass().getName());
    }
    SortedMap<Integer, TableProfile> theirs = o.value();
    synchronized (this) {
      byPartition.putAll(theirs);
    }
  }

  /** A snapshot: partition index to that partition's profile. */
  @Override
  public synchronized SortedMap<Integer, TableProfile> value() {
    return Collections.unmodifiableSortedMap(new TreeMap<>(byPartition));
  }

  /** Executors serialise task-side copies for heartbeats from another thread than the task's. */
  private synchronized void writeObject(ObjectOutputStream out) throws IOException {
    out.defaultWriteObject();
  }
}
