package io.deepens.spark.data;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one pass over a training table found, merged across partitions: row counts, feature lengths, invalid rows
 * by reason (with the first example of each), label counts, and an order-independent content hash.
 */
public final class TableProfile implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int MAX_LENGTHS = 16;

  public long rows;
  public long validationRows;
  public long contentHash;
  public long[] labelCounts;
  public final TreeMap<Integer, Long> lengths = new TreeMap<>();
  public final TreeMap<Integer, String> lengthExamples = new TreeMap<>();
  public final LinkedHashMap<String, Long> invalid = new LinkedHashMap<>();
  public final LinkedHashMap<String, String> invalidExamples = new LinkedHashMap<>();
  /**
   * Task time, summed over partitions: {@code readNanos} waiting for the next row of the input (Spark's reader:
   * files read, decompressed and decoded into rows), {@code passNanos} from a partition's first row request to its
   * last (reading, plus profiling and copying each row, plus Spark's shuffle writer serialising the copies).
   */
  public long readNanos;
  public long passNanos;

  public TableProfile(int classes) {
    this.labelCounts = new long[Math.max(classes, 0)];
  }

  public void addLength(int length, String example) {
    if (lengths.size() < MAX_LENGTHS || lengths.containsKey(length)) {
      lengths.merge(length, 1L, Long::sum);
      lengthExamples.putIfAbsent(length, example);
    }
  }

  public void addInvalid(String category, String example) {
    invalid.merge(category, 1L, Long::sum);
    invalidExamples.putIfAbsent(category, example);
  }

  public TableProfile merge(TableProfile o) {
    rows += o.rows;
    validationRows += o.validationRows;
    contentHash += o.contentHash;
    readNanos += o.readNanos;
    passNanos += o.passNanos;
    for (int i = 0; i < labelCounts.length && i < o.labelCounts.length; i++) {
      labelCounts[i] += o.labelCounts[i];
    }
    o.lengths.forEach((k, v) -> {
      if (lengths.size() < MAX_LENGTHS || lengths.containsKey(k)) {
        lengths.merge(k, v, Long::sum);
        lengthExamples.putIfAbsent(k, o.lengthExamples.get(k));
      }
    });
    o.invalid.forEach((k, v) -> {
      invalid.merge(k, v, Long::sum);
      invalidExamples.putIfAbsent(k, o.invalidExamples.get(k));
    });
    return this;
  }

  /** The most common feature length, or -1 for an empty table. */
  public int dominantLength() {
    return lengths.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(-1);
  }

  public long invalidRows() {
    return invalid.values().stream().mapToLong(Long::longValue).sum();
  }

  public String contentHashHex() {
    return String.format(Locale.ROOT, "%016x", contentHash);
  }
}
