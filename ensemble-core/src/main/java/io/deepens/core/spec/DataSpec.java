package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * @param placement how members receive their rows ({@link Placement}); {@code copy} by default
 * @param shuffleBuffer rows in each member's shuffle buffer with {@code placement: stream} ({@value
 *     #DEFAULT_SHUFFLE_BUFFER} by default); 0 with {@code copy}, which shuffles the member's whole copy
 */
public record DataSpec(
    List<String> features,
    String label,
    int classes,
    String key,
    ValidationSpec validation,
    List<Integer> inputShape,
    Placement placement,
    int shuffleBuffer) {
  /** Rows in a streaming member's shuffle buffer unless {@code data.shuffleBuffer} says otherwise. */
  public static final int DEFAULT_SHUFFLE_BUFFER = 16384;

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
    InvalidInputException.check(placement != null, "data.placement must be given: copy | stream");
    if (placement == Placement.COPY) {
      InvalidInputException.check(shuffleBuffer == 0,
          "data.shuffleBuffer applies only to data.placement: stream (the copy placement shuffles each member's "
              + "whole copy), found %d", shuffleBuffer);
    } else {
      InvalidInputException.check(shuffleBuffer >= 1, "data.shuffleBuffer must be >= 1 row, found %d", shuffleBuffer);
    }
  }

  /** The columns with the copy placement (every spec before {@code data.placement} existed). */
  public DataSpec(List<String> features, String label, int classes, String key, ValidationSpec validation,
      List<Integer> inputShape) {
    this(features, label, classes, key, validation, inputShape, Placement.COPY, 0);
  }

  static final String FEATURES = "features";
  static final String LABEL = "label";
  static final String CLASSES = "classes";
  static final String KEY = "key";
  static final String VALIDATION = "validation";
  static final String INPUT_SHAPE = "inputShape";
  static final String PLACEMENT = "placement";
  static final String SHUFFLE_BUFFER = "shuffleBuffer";
  /** The keys under {@code data}, in canonical order. */
  static final List<String> KEYS =
      List.of(FEATURES, LABEL, CLASSES, KEY, VALIDATION, INPUT_SHAPE, PLACEMENT, SHUFFLE_BUFFER);

  /** Reads {@code data}; {@code classes} is required for classification. */
  static DataSpec read(SpecNode d, boolean classification) {
    List<String> features = d.stringOrStringList(FEATURES);
    String label = d.string(LABEL, null, true);
    int classes = d.integer(CLASSES, 0, classification);
    String key = d.string(KEY, null, false);
    ValidationSpec validation = ValidationSpec.read(d.obj(VALIDATION, ValidationSpec.KEYS));
    List<Integer> inputShape = d.has(INPUT_SHAPE) ? d.intList(INPUT_SHAPE) : null;
    Placement placement = d.choice(PLACEMENT, Placement.class, Placement.COPY, false);
    int buffer = d.integer(SHUFFLE_BUFFER, placement == Placement.STREAM ? DEFAULT_SHUFFLE_BUFFER : 0, false);
    return new DataSpec(features, label, classes, key, validation, inputShape, placement, buffer);
  }

  /** Writes every key with its value; {@code classes} only for classification (regression has 0). */
  void write(ObjectNode o) {
    ArrayNode feats = o.putArray(FEATURES);
    features.forEach(feats::add);
    o.put(LABEL, label);
    if (classes != 0) {
      o.put(CLASSES, classes);
    }
    if (key != null) {
      o.put(KEY, key);
    }
    validation.write(o.putObject(VALIDATION));
    if (inputShape != null) {
      ArrayNode shape = o.putArray(INPUT_SHAPE);
      inputShape.forEach(shape::add);
    }
    if (placement == Placement.STREAM) { // copy is left out: specs written before placement existed keep their JSON
      o.put(PLACEMENT, "stream");
      o.put(SHUFFLE_BUFFER, shuffleBuffer);
    }
  }

  /** channels × height × width, or -1 without an input shape. */
  public int inputSize() {
    return inputShape == null ? -1 : inputShape.get(0) * inputShape.get(1) * inputShape.get(2);
  }
}
