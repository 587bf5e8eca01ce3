package io.deepens.spark.train;

import java.io.Serializable;
import java.util.Comparator;

/**
 * The shuffle key that routes a copy of a row to one member's task, where it orders the rows ({@link Order}; the
 * task sorts the keys itself, see {@code MemberTask.RowKeys}). Training rows come first, in an order drawn from the
 * member's seed; validation rows follow, ordered by row key (the same order in every member, so the driver can line
 * their predictions up).
 */
public final class MemberRowKey implements Serializable {
  private static final long serialVersionUID = 1L;
  public int member;
  public boolean validation;
  public long sortKey;
  public long rowKey;

  public MemberRowKey() {}

  public MemberRowKey(int member, boolean validation, long sortKey, long rowKey) {
    this.member = member;
    this.validation = validation;
    this.sortKey = sortKey;
    this.rowKey = rowKey;
  }

  /** Orders rows within a member's partition. */
  public static final class Order implements Comparator<MemberRowKey>, Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public int compare(MemberRowKey a, MemberRowKey b) {
      int c = Integer.compare(a.member, b.member);
      if (c != 0) {
        return c;
      }
      c = Boolean.compare(a.validation, b.validation);
      if (c != 0) {
        return c;
      }
      c = Long.compare(a.sortKey, b.sortKey);
      return c != 0 ? c : Long.compare(a.rowKey, b.rowKey);
    }
  }

  /** Sends member m's rows to partition m. */
  public static final class ByMember extends org.apache.spark.Partitioner {
    private static final long serialVersionUID = 1L;
    private final int members;

    public ByMember(int members) {
      this.members = members;
    }

    @Override
    public int numPartitions() {
      return members;
    }

    @Override
    public int getPartition(Object key) {
      return ((MemberRowKey) key).member;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ByMember b && b.members == members;
    }

    @Override
    public int hashCode() {
      return members;
    }
  }
}
