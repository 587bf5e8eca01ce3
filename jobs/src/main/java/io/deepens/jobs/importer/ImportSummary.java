package io.deepens.jobs.importer;

import java.util.List;
import java.util.Map;

/**
 * What an import wrote (or found already written).
 *
 * @param dataset {@code "fashion-mnist"} or {@code "mnist"}
 * @param outputUri where the tables are
 * @param rowsByTable rows per table, keyed by the table's location under {@code outputUri}: {@code "train"} and
 *     {@code "test"} for Fashion-MNIST, {@code "."} (the output itself) for MNIST
 * @param skipped number of source records skipped as invalid
 * @param skippedRecords one line per skipped record: file, record index and the reason
 * @param alreadyComplete true when the output was already complete and nothing was done
 */
public record ImportSummary(String dataset, String outputUri, Map<String, Long> rowsByTable, long skipped,
                            List<String> skippedRecords, boolean alreadyComplete) {

  public ImportSummary {
    rowsByTable = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(rowsByTable));
    skippedRecords = List.copyOf(skippedRecords);
  }

  /** Total rows over all tables. */
  public long rows() {
    return rowsByTable.values().stream().mapToLong(Long::longValue).sum();
  }
}
