package io.deepens.core.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The optional {@code ensemble.hyperDeep} section: a hyper-deep ensemble (Wenzel, Snoek, Tran and Jenatton,
 * "Hyperparameter Ensembles for Robustness and Uncertainty Quantification", NeurIPS 2020). A pool of {@code pool}
 * candidate members, each with hyperparameters drawn from {@code search}, trains first; greedy ensemble selection
 * with replacement (Caruana et al. 2004) on the validation NLL picks settings; the selected settings are then
 * retrained with fresh initialisations to fill {@code ensemble.members} (see {@code io.deepens.core.hyper}).
 *
 * <pre>
 * ensemble:
 *   hyperDeep:
 *     pool: 12
 *     search:
 *       learningRate: {logUniform: [0.0003, 0.003]}
 *       weightDecay:  {logUniform: [1.0e-6, 1.0e-3]}
 *       dropout:      {uniform: [0.0, 0.3]}
 *       hidden:       {choice: [200, 300]}
 *     selection: greedy
 *     selectionSize: 5
 * </pre>
 *
 * @param pool number of candidates K, >= 2
 * @param learningRate search range of {@code training.learningRate}, or null to keep the spec's value
 * @param weightDecay search range of {@code training.weightDecay}, or null
 * @param dropout search range of {@code network.dropout}, or null
 * @param hidden search range of the width of every hidden layer ({@code network.hidden}), rounded to an integer,
 *     or null
 * @param selectionSize the most picks greedy selection makes (with replacement), >= 1; selection stops earlier
 *     when no pick lowers the validation NLL of the mixture
 */
public record HyperDeepSpec(int pool, Range learningRate, Range weightDecay, Range dropout, Range hidden,
    int selectionSize) {
  /** How a hyperparameter is drawn from a uniform u in [0, 1). */
  public enum Kind {
    /** {@code exp(ln a + u (ln b − ln a))}, a and b > 0. */
    LOG_UNIFORM("logUniform"),
    /** {@code a + u (b − a)}. */
    UNIFORM("uniform"),
    /** {@code values[floor(u · n)]}. */
    CHOICE("choice");

    private final String key;

    Kind(String key) {
      this.key = key;
    }

    public String key() {
      return key;
    }
  }

  /**
   * One searched hyperparameter.
   *
   * @param kind how it is drawn
   * @param values [low, high] for the ranges (low <= high), the candidates for {@code choice} (at least one)
   */
  public record Range(Kind kind, List<Double> values) {
    public Range {
      values = List.copyOf(values);
    }

    /** The value for a uniform draw {@code u} in [0, 1). */
    public double at(double u) {
      return switch (kind) {
        case LOG_UNIFORM -> Math.exp(Math.log(values.get(0)) + u * (Math.log(values.get(1)) - Math.log(values.get(0))));
        case UNIFORM -> values.get(0) + u * (values.get(1) - values.get(0));
        case CHOICE -> values.get(Math.min(values.size() - 1, (int) Math.floor(u * values.size())));
      };
    }

    /** The smallest value it can give. */
    public double min() {
      return values.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
    }

    /** The largest value it can give. */
    public double max() {
      return values.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
    }

    void write(ObjectNode o) {
      ArrayNode a = o.putArray(kind.key());
      values.forEach(a::add);
    }
  }

  static final String POOL = "pool";
  static final String SEARCH = "search";
  static final String SELECTION = "selection";
  static final String SELECTION_SIZE = "selectionSize";
  static final String LEARNING_RATE = "learningRate";
  static final String WEIGHT_DECAY = "weightDecay";
  static final String DROPOUT = "dropout";
  static final String HIDDEN = "hidden";
  static final String GREEDY = "greedy";
  /** The keys under {@code ensemble.hyperDeep}, in canonical order. */
  static final List<String> KEYS = List.of(POOL, SEARCH, SELECTION, SELECTION_SIZE);
  /** The keys under {@code ensemble.hyperDeep.search}. */
  static final List<String> SEARCH_KEYS = List.of(LEARNING_RATE, WEIGHT_DECAY, DROPOUT, HIDDEN);
  private static final List<String> RANGE_KEYS =
      List.of(Kind.LOG_UNIFORM.key(), Kind.UNIFORM.key(), Kind.CHOICE.key());

  public HyperDeepSpec {
    String p = "ensemble.hyperDeep.";
    InvalidInputException.check(pool >= 2, "%spool must be >= 2 (one candidate is no search), found %d", p, pool);
    InvalidInputException.check(selectionSize >= 1, "%sselectionSize must be >= 1, found %d", p, selectionSize);
    InvalidInputException.check(learningRate != null || weightDecay != null || dropout != null || hidden != null,
        "%ssearch must name at least one of %s", p, String.join(", ", SEARCH_KEYS));
    check(learningRate, LEARNING_RATE, false, "> 0", v -> v > 0);
    check(weightDecay, WEIGHT_DECAY, false, ">= 0", v -> v >= 0);
    check(dropout, DROPOUT, false, "in [0, 1)", v -> v >= 0 && v < 1);
    check(hidden, HIDDEN, true, ">= 1", v -> v >= 1);
  }

  private static void check(Range r, String key, boolean integer, String rule,
      java.util.function.DoublePredicate ok) {
    if (r == null) {
      return;
    }
    String where = "ensemble.hyperDeep.search." + key + "." + r.kind().key();
    List<Double> v = r.values();
    if (r.kind() == Kind.CHOICE) {
      InvalidInputException.check(!v.isEmpty(), "%s must list at least one value", where);
    } else {
      InvalidInputException.check(v.size() == 2, "%s must be [low, high], found %d values", where, v.size());
      InvalidInputException.check(v.get(0) <= v.get(1), "%s must be [low, high] with low <= high, found %s", where,
          v);
    }
    for (int i = 0; i < v.size(); i++) {
      double x = v.get(i);
      InvalidInputException.check(Double.isFinite(x) && ok.test(x), "%s[%d] must be %s (as %s), found %s", where, i,
          rule, key, x);
      InvalidInputException.check(!integer || r.kind() != Kind.CHOICE || x == Math.rint(x),
          "%s[%d] must be an integer (a layer width), found %s", where, i, x);
    }
    InvalidInputException.check(r.kind() != Kind.LOG_UNIFORM || v.get(0) > 0,
        "%s needs low > 0 (a log-uniform range), found %s; use uniform for a range that starts at 0", where,
        v.get(0));
  }

  /**
   * Cross-section rules, checked by {@link EnsembleSpec}: {@code dropout} and {@code hidden} need a preset network
   * (a {@code dl4j-json} network has its own), {@code hidden} a network with hidden layers, and Monte Carlo dropout
   * a dropout search that never draws 0; with a cosine schedule every drawn learning rate must stay above
   * {@code training.schedule.minLearningRate}.
   */
  void check(NetworkSpec n, TrainingSpec t, EnsembleSection e) {
    String p = "ensemble.hyperDeep.search.";
    InvalidInputException.check(n.type() != NetworkType.DL4J_JSON || (dropout == null && hidden == null),
        "%sdropout and %shidden apply to the mlp and cnn presets; a dl4j-json network sets its own (search "
            + "learningRate and weightDecay only)", p, p);
    InvalidInputException.check(hidden == null || !n.hidden().isEmpty(),
        "%shidden sets the width of every network.hidden layer, but network.hidden is empty", p);
    InvalidInputException.check(dropout == null || e.mcDropoutSamples() == 0 || dropout.min() > 0,
        "ensemble.mcDropoutSamples = %d needs network.dropout > 0 in every candidate, but %sdropout can draw %s",
        e.mcDropoutSamples(), p, dropout == null ? 0 : dropout.min());
    InvalidInputException.check(learningRate == null || t.schedule().type() != ScheduleSpec.Type.COSINE
            || learningRate.min() > t.schedule().minLearningRate(),
        "%slearningRate can draw %s, which is not above training.schedule.minLearningRate (%s): raise the range's "
            + "low end or lower minLearningRate", p, learningRate == null ? 0 : learningRate.min(),
        t.schedule().minLearningRate());
  }

  static HyperDeepSpec read(SpecNode h, int members) {
    int pool = h.integer(POOL, 0, true);
    h.require(SEARCH);
    SpecNode s = h.obj(SEARCH, SEARCH_KEYS);
    String selection = h.string(SELECTION, GREEDY, false);
    InvalidInputException.check(GREEDY.equals(selection.trim().toLowerCase(Locale.ROOT)),
        "%s must be greedy (Caruana et al. 2004, with replacement, on validation NLL), found \"%s\"",
        h.child(SELECTION), selection);
    int size = h.integer(SELECTION_SIZE, members, false);
    return new HyperDeepSpec(pool, range(s, LEARNING_RATE), range(s, WEIGHT_DECAY), range(s, DROPOUT),
        range(s, HIDDEN), size);
  }

  private static Range range(SpecNode s, String key) {
    if (!s.has(key)) {
      return null;
    }
    SpecNode r = s.obj(key, RANGE_KEYS);
    List<Kind> given = new ArrayList<>();
    for (Kind k : Kind.values()) {
      if (r.has(k.key())) {
        given.add(k);
      }
    }
    InvalidInputException.check(given.size() == 1, "%s must have exactly one of %s, found %s", s.child(key),
        String.join(", ", RANGE_KEYS), given.stream().map(Kind::key).toList());
    Kind kind = given.get(0);
    JsonNode v = r.get(kind.key());
    String where = r.child(kind.key());
    if (!v.isArray()) {
      throw r.typeError(kind.key(), kind == Kind.CHOICE ? "a list of numbers" : "[low, high]", v);
    }
    List<Double> values = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isNumber()) {
        throw new InvalidInputException(where + "[" + i + "] must be a number, found " + SpecNode.show(v.get(i)));
      }
      values.add(v.get(i).doubleValue());
    }
    return new Range(kind, values);
  }

  void write(ObjectNode o) {
    o.put(POOL, pool);
    ObjectNode s = o.putObject(SEARCH);
    if (learningRate != null) {
      learningRate.write(s.putObject(LEARNING_RATE));
    }
    if (weightDecay != null) {
      weightDecay.write(s.putObject(WEIGHT_DECAY));
    }
    if (dropout != null) {
      dropout.write(s.putObject(DROPOUT));
    }
    if (hidden != null) {
      hidden.write(s.putObject(HIDDEN));
    }
    o.put(SELECTION, GREEDY);
    o.put(SELECTION_SIZE, selectionSize);
  }
}
