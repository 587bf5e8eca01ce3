package io.deepens.core.spec;

import io.deepens.core.InvalidInputException;

/**
 * How each member trains.
 *
 * @param optimizer the updater
 * @param learningRate base learning rate, > 0
 * @param schedule learning rate by epoch
 * @param weightDecay decoupled weight decay coefficient (DL4J {@code WeightDecay}, multiplied by the learning rate),
 *     >= 0
 * @param batchSize rows per minibatch, >= 1
 * @param epochs passes over the member's rows, >= 1
 * @param earlyStoppingPatience epochs without improvement of validation NLL before stopping (the best epoch's
 *     parameters are restored); 0 turns early stopping off
 */
public record TrainingSpec(
    Optimizer optimizer,
    double learningRate,
    ScheduleSpec schedule,
    double weightDecay,
    int batchSize,
    int epochs,
    int earlyStoppingPatience) {
  public TrainingSpec {
    InvalidInputException.check(optimizer != null, "training.optimizer must be given");
    InvalidInputException.check(
        Double.isFinite(learningRate) && learningRate > 0, "training.learningRate must be > 0, found %s", learningRate);
    InvalidInputException.check(schedule != null, "training.schedule must be given");
    InvalidInputException.check(
        schedule.type() != ScheduleSpec.Type.COSINE || schedule.minLearningRate() < learningRate,
        "training.schedule.minLearningRate must be < training.learningRate (%s), found %s",
        learningRate, schedule.minLearningRate());
    InvalidInputException.check(
        Double.isFinite(weightDecay) && weightDecay >= 0, "training.weightDecay must be >= 0, found %s", weightDecay);
    InvalidInputException.check(batchSize >= 1, "training.batchSize must be >= 1, found %d", batchSize);
    InvalidInputException.check(epochs >= 1, "training.epochs must be >= 1, found %d", epochs);
    InvalidInputException.check(
        earlyStoppingPatience >= 0,
        "training.earlyStopping.patience must be >= 0 (0 = off), found %d", earlyStoppingPatience);
  }

  /** The learning rate of epoch {@code epoch} (0-based). */
  public double learningRateAt(int epoch) {
    return schedule.rateAt(learningRate, epoch, epochs);
  }
}
