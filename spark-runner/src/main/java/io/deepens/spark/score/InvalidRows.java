package io.deepens.spark.score;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.util.AccumulatorV2;

/**
 * A Spark accumulator that counts the rows a scoring job read and the invalid ones among them, by reason, with the
 * first example of each reason (the row's key and the full message). Reasons are grouped with their numbers
 * blanked, so "have 10 values, expected 64" and "have 12 values, expected 64" are one reason; at most
 * {@value #MAX_REASONS} reasons are kept apart, the rest are counted as "other reasons".
 */
public final class InvalidRows extends AccumulatorV2<InvalidRows.Tally, InvalidRows.Tally> {
  private static final long serialVersionUID = 1L;
  static final int MAX_REASONS = 32;

  /** Counts; mutable, merged by {@link #add}. */
  public static final class Tally implements Serializable {
    private static final long serialVersionUID = 1L;
    long rows;
    long invalid;
    final LinkedHashMap<String, Long> counts = new LinkedHashMap<>();
    final Map<String, String> examples = new LinkedHashMap<>();

    void row() {
      rows++;
    }

    void invalid(String reason, String example) {
      invalid++;
      String key = category(reason);
      if (!counts.containsKey(key) && counts.size() >= MAX_REASONS) {
        key = "other reasons";
      }
      counts.merge(key, 1L, Long::sum);
      examples.putIfAbsent(key, example);
    }

    void merge(Tally o) {
      rows += o.rows;
      invalid += o.invalid;
      o.counts.forEach((k, v) -> {
        String key = !counts.containsKey(k) && counts.size() >= MAX_REASONS ? "other reasons" : k;
        counts.merge(key, v, Long::sum);
        examples.putIfAbsent(key, o.examples.get(k));
      });
    }

    boolean empty() {
      return rows == 0 && invalid == 0;
    }
  }

  private Tally tally = new Tally();

  /** A new accumulator registered with {@code sc} under {@code name}. */
  public static InvalidRows register(SparkContext sc, String name) {
    InvalidRows a = new InvalidRows();
    sc.register(a, name);
    return a;
  }

  static String category(String reason) {
    return reason.replaceAll("-?\\d+(\\.\\d+)?(E-?\\d+)?", "#");
  }

  /** Rows read (valid and invalid). */
  public long rows() {
    return tally.rows;
  }

  /** Invalid rows among them. */
  public long invalid() {
    return tally.invalid;
  }

  /**
   * The {@code n} most common reasons, most common first, each as {@code "<count> rows: <example with its key and
   * full reason>"}.
   */
  public List<String> mostCommon(int n) {
    List<Map.Entry<String, Long>> e = new ArrayList<>(tally.counts.entrySet());
    e.sort(Map.Entry.<String, Long>comparingByValue().reversed());
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Long> x : e.subList(0, Math.min(n, e.size()))) {
      out.add(String.format(Locale.ROOT, "%d %s, e.g. %s", x.getValue(), x.getValue() == 1 ? "row" : "rows",
          tally.examples.get(x.getKey())));
    }
    return out;
  }

  /** How many distinct reasons were seen. */
  public int reasons() {
    return tally.counts.size();
  }

  @Override
  public boolean isZero() {
    return tally.empty();
  }

  @Override
  public AccumulatorV2<Tally, Tally> copy() {
    InvalidRows c = new InvalidRows();
    c.tally.merge(tally);
    return c;
  }

  @Override
  public void reset() {
    tally = new Tally();
  }

  @Override
  public void add(Tally v) {
    tally.merge(v);
  }

  @Override
  public void merge(AccumulatorV2<Tally, Tally> other) {
    tally.merge(other.value());
  }

  @Override
  public Tally value() {
    return tally;
  }
}
