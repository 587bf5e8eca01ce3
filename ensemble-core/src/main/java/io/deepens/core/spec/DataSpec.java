package io.deepens.core.spec;

import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * The training table's columns.
 *
 * @param features one array/vector column, or several numeric columns, in order
 * @param label the label column: class index for classification, the target for regression
 * @param classes number of classes for classification (labels 0..classes-1); 0 for regression
 * @param key a stable row key column, or null (rows are then keyed by a hash of their content)
 * @param validation where validation rows come from
 * @param inputShape [channels, height, width] of the flat feature vector, or null; required by the cnn preset
 */
public record DataSpec(
    List<String> features,
    String label,
    int classes,
    String key,
    ValidationSpec validation,
    List<Integer> inputShape) {
  public DataSpec {
    InvalidInputException.check(features != null && !features.isEmpty(), "data.features must name at least one column");
    features = List.copyOf(features);
    for (int i = 0; i < features.size(); i++) {
      InvalidInputException.check(!features.get(i).isBlank(), "data.features[%d] must not be blank", i);
    }
    InvalidInputException.check(label != null && !label.isBlank(), "data.label must name a column");
    InvalidInputException.check(classes >= 0, "data.classes must be >= 0, found %d", classes);
    InvalidInputException.check(key == null || !key.isBlank(), "data.key must not be blank when given");
    InvalidInputException.check(validation != null, "data.validation must be given");
    if (inputShape != null) {
      inputShape = List.copyOf(inputShape);
      InvalidInputException.check(
          inputShape.size() == 3, "data.inputShape must be [channels, height, width], found %s", inputShape);
      for (int i = 0; i < 3; i++) {
        InvalidInputException.check(
            inputShape.get(i) >= 1, "data.inputShape[%d] must be >= 1, found %d", i, inputShape.get(i));
      }
    }
  }

  /** channels × height × width, or -1 without an input shape. */
  public int inputSize() {
    return inputShape == null ? -1 : inputShape.get(0) * inputShape.get(1) * inputShape.get(2);
  }
}
