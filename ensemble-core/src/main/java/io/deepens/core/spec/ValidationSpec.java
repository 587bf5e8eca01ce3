package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * Where validation rows come from: a deterministic fraction of the training table (chosen by a hash of the row
 * key) or a separate table.
 *
 * @param fraction share of training rows held out, in [0, 1); must be 0 when {@code table} is given
 * @param table URI of a separate validation table, or null
 */
public record ValidationSpec(double fraction, String table) {
  public ValidationSpec {
    InvalidInputException.check(
        Double.isFinite(fraction) && fraction >= 0 && fraction < 1,
        "data.validation.fraction must be in [0, 1), found %s", fraction);
    InvalidInputException.check(
        table == null || !table.isBlank(), "data.validation.table must not be blank when given");
    InvalidInputException.check(
        table == null || fraction == 0,
        "data.validation: give either fraction or table, not both (fraction %s, table %s)", fraction, table);
  }

  static final String FRACTION = "fraction";
  static final String TABLE = "table";
  /** The keys under {@code data.validation}, in canonical order. */
  static final List<String> KEYS = List.of(FRACTION, TABLE);

  /** Reads {@code data.validation}; fraction defaults to 0.1 without a table, 0 with one. */
  static ValidationSpec read(SpecNode v) {
    String table = v.string(TABLE, null, false);
    return new ValidationSpec(v.dbl(FRACTION, table == null ? 0.1 : 0.0, false), table);
  }

  void write(ObjectNode o) {
    o.put(FRACTION, fraction);
    if (table != null) {
      o.put(TABLE, table);
    }
  }
}
