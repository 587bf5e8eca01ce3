package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

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
 * @param checkpointEveryRows with {@code data.placement: stream}, also checkpoint within an epoch after every this
 *     many rows (a retried member replays its epoch's stream up to the checkpoint without training); 0 (the
 *     default) checkpoints at epoch boundaries only. Must be 0 with the copy placement.
 */
public record TrainingSpec(
    Optimizer optimizer,
    double learningRate,
    ScheduleSpec schedule,
    double weightDecay,
    int batchSize,
    int epochs,
    int earlyStoppingPatience,
    long checkpointEveryRows) {
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
    InvalidInputException.check(checkpointEveryRows >= 0,
        "training.checkpointEveryRows must be >= 0 (0 = at epoch boundaries only), found %d", checkpointEveryRows);
  }

  /** Without mid-epoch checkpoints (every spec before {@code training.checkpointEveryRows} existed). */
  public TrainingSpec(Optimizer optimizer, double learningRate, ScheduleSpec schedule, double weightDecay,
      int batchSize, int epochs, int earlyStoppingPatience) {
    this(optimizer, learningRate, schedule, weightDecay, batchSize, epochs, earlyStoppingPatience, 0L);
  }

  static final String OPTIMIZER = "optimizer";
  static final String LEARNING_RATE = "learningRate";
  static final String SCHEDULE = "schedule";
  static final String WEIGHT_DECAY = "weightDecay";
  static final String BATCH_SIZE = "batchSize";
  static final String EPOCHS = "epochs";
  static final String EARLY_STOPPING = "earlyStopping";
  static final String PATIENCE = "patience";
  static final String CHECKPOINT_EVERY_ROWS = "checkpointEveryRows";
  /** The keys under {@code training}, in canonical order. */
  static final List<String> KEYS = List.of(OPTIMIZER, LEARNING_RATE, SCHEDULE, WEIGHT_DECAY, BATCH_SIZE, EPOCHS,
      EARLY_STOPPING, CHECKPOINT_EVERY_ROWS);

  static TrainingSpec read(SpecNode t) {
    Optimizer optimizer = t.choice(OPTIMIZER, Optimizer.class, Optimizer.ADAM, false);
    double learningRate = t.dbl(LEARNING_RATE, 1e-3, false);
    ScheduleSpec schedule = ScheduleSpec.read(t, SCHEDULE);
    double weightDecay = t.dbl(WEIGHT_DECAY, 0.0, false);
    int batchSize = t.integer(BATCH_SIZE, 128, false);
    int epochs = t.integer(EPOCHS, 10, false);
    int patience = t.obj(EARLY_STOPPING, List.of(PATIENCE)).integer(PATIENCE, 0, false);
    long checkpointEveryRows = t.lng(CHECKPOINT_EVERY_ROWS, 0L);
    return new TrainingSpec(optimizer, learningRate, schedule, weightDecay, batchSize, epochs, patience,
        checkpointEveryRows);
  }

  void write(ObjectNode o) {
    o.put(OPTIMIZER, optimizer.key());
    o.put(LEARNING_RATE, learningRate);
    schedule.write(o.putObject(SCHEDULE));
    o.put(WEIGHT_DECAY, weightDecay);
    o.put(BATCH_SIZE, batchSize);
    o.put(EPOCHS, epochs);
    o.putObject(EARLY_STOPPING).put(PATIENCE, earlyStoppingPatience);
    if (checkpointEveryRows > 0) { // left out at 0: specs written before the key existed keep their JSON
      o.put(CHECKPOINT_EVERY_ROWS, checkpointEveryRows);
    }
  }

  /** The learning rate of epoch {@code epoch} (0-based). */
  public double learningRateAt(int epoch) {
    return schedule.rateAt(learningRate, epoch, epochs);
  }
}
