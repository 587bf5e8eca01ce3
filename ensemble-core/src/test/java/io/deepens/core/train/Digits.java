package io.deepens.core.train;

import io.deepens.core.data.OptDigits;

/** The embedded digits split for tests: rows with id % 5 == 0 (360 rows) validate, the other 1,437 train. */
final class Digits {
  static final OptDigits DATA = OptDigits.load();

  private Digits() {}

  static TrainingSet train() {
    return part(false, Integer.MAX_VALUE);
  }

  static TrainingSet validation() {
    return part(true, Integer.MAX_VALUE);
  }

  /** The first {@code limit} rows of a part. */
  static TrainingSet part(boolean validation, int limit) {
    TrainingSetBuilder b = new TrainingSetBuilder(64, null);
    for (int i = 0; i < DATA.rows() && b.numRows() < limit; i++) {
      if ((DATA.id(i) % 5 == 0) == validation) {
        b.add(DATA.features(i), DATA.label(i));
      }
    }
    return b.build();
  }

  /** A spec for the 10 digits classes; {@code extra} replaces whole lines by key, e.g. "  epochs: 3". */
  static String yaml(String network, String training) {
    return """
        name: digits-test
        task: classification
        data:
          features: features
          label: label
          classes: 10
          inputShape: [1, 8, 8]
        network:
        %s
        training:
        %s
        ensemble:
          members: 3
          seed: 7
        resources:
          threadsPerMember: 1
        """.formatted(network.stripTrailing(), training.stripTrailing());
  }
}
