package io.deepens.core.spec;

import io.deepens.core.InvalidInputException;

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
