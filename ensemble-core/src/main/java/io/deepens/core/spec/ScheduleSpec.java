package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * The learning-rate schedule, by epoch e (0-based), for base rate η:
 *
 * <ul>
 *   <li>{@code constant}: η
 *   <li>{@code step}: η · decay^floor(e / every)
 *   <li>{@code exponential}: η · decay^e
 *   <li>{@code cosine}: min + (η − min)(1 + cos(π e / E)) / 2 over E = training.epochs (Loshchilov and Hutter 2017,
 *       without restarts)
 * </ul>
 *
 * @param type constant | step | exponential | cosine
 * @param decay multiplicative factor in (0, 1] for step and exponential, else 1
 * @param every epochs between steps for step (>= 1), else 0
 * @param minLearningRate the floor of cosine (>= 0), else 0
 */
public record ScheduleSpec(Type type, double decay, int every, double minLearningRate) {
  /** The schedule's shape. */
  public enum Type {
    CONSTANT,
    STEP,
    EXPONENTIAL,
    COSINE;

    public String key() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public static final ScheduleSpec CONSTANT = new ScheduleSpec(Type.CONSTANT, 1, 0, 0);

  public ScheduleSpec {
    InvalidInputException.check(type != null, "training.schedule.type must be given");
    InvalidInputException.check(
        Double.isFinite(decay) && decay > 0 && decay <= 1,
        "training.schedule.decay must be in (0, 1], found %s", decay);
    InvalidInputException.check(
        type != Type.STEP || every >= 1, "training.schedule.every must be >= 1 for step, found %d", every);
    InvalidInputException.check(
        Double.isFinite(minLearningRate) && minLearningRate >= 0,
        "training.schedule.minLearningRate must be >= 0, found %s", minLearningRate);
  }

  static final String TYPE = "type";
  static final String DECAY = "decay";
  static final String EVERY = "every";
  static final String MIN_LEARNING_RATE = "minLearningRate";
  /** Every key a schedule may have, in canonical order. */
  static final List<String> KEYS = List.of(TYPE, DECAY, EVERY, MIN_LEARNING_RATE);

  /** The keys a schedule of this type takes. */
  private static List<String> keys(Type type) {
    return switch (type) {
      case CONSTANT -> List.of(TYPE);
      case STEP -> List.of(TYPE, DECAY, EVERY);
      case EXPONENTIAL -> List.of(TYPE, DECAY);
      case COSINE -> List.of(TYPE, MIN_LEARNING_RATE);
    };
  }

  /**
   * Reads the schedule under {@code key} of {@code training} (constant when absent): its type first, then only the
   * keys that type takes; decay defaults to 0.1 for step and is required for exponential.
   */
  static ScheduleSpec read(SpecNode training, String key) {
    if (!training.has(key)) {
      return CONSTANT;
    }
    Type type = training.obj(key, KEYS).choice(TYPE, Type.class, null, true);
    SpecNode s = training.obj(key, keys(type));
    double decay = s.dbl(DECAY, type == Type.STEP ? 0.1 : 1.0, type == Type.EXPONENTIAL);
    int every = s.integer(EVERY, 0, type == Type.STEP);
    double min = s.dbl(MIN_LEARNING_RATE, 0.0, false);
    return new ScheduleSpec(type, decay, every, min);
  }

  /** Writes the type and the keys it takes. */
  void write(ObjectNode o) {
    o.put(TYPE, type.key());
    if (type == Type.STEP || type == Type.EXPONENTIAL) {
      o.put(DECAY, decay);
    }
    if (type == Type.STEP) {
      o.put(EVERY, every);
    }
    if (type == Type.COSINE) {
      o.put(MIN_LEARNING_RATE, minLearningRate);
    }
  }

  /** The learning rate of epoch {@code epoch} (0-based) for base rate {@code base} over {@code epochs} epochs. */
  public double rateAt(double base, int epoch, int epochs) {
    return switch (type) {
      case CONSTANT -> base;
      case STEP -> base * Math.pow(decay, Math.floorDiv(epoch, every));
      case EXPONENTIAL -> base * Math.pow(decay, epoch);
      case COSINE -> minLearningRate + (base - minLearningRate) * (1 + Math.cos(Math.PI * epoch / epochs)) / 2;
    };
  }
}
