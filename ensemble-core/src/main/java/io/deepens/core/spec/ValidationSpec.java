package io.deepens.core.spec;

import io.deepens.core.InvalidInputException;

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
}
