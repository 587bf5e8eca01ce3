package io.deepens.core.train;

/**
 * What one epoch of one member measured. Validation fields are null without validation rows; accuracy is null for
 * regression and RMSE is null for classification.
 *
 * @param epoch 0-based epoch index
 * @param trainLoss mean minibatch loss over the epoch, weighted by batch rows (MCXENT or Gaussian NLL, nats)
 * @param validationNll mean negative log-likelihood on the validation rows (nats): −log p(y|x), or the Gaussian NLL
 * @param validationAccuracy share of validation rows whose most probable class is the label
 * @param validationRmse root mean squared error of the predicted mean
 * @param learningRate the scheduled learning rate of this epoch (null for dl4j-json networks)
 * @param millis wall time of the epoch including validation (informational; never affects results)
 */
public record EpochMetrics(
    int epoch,
    double trainLoss,
    Double validationNll,
    Double validationAccuracy,
    Double validationRmse,
    Double learningRate,
    long millis) {}
