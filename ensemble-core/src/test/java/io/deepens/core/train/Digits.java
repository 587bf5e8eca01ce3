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

  /** Minibatch b (rows b·bs + 7i, wrapping) of {@code rows} as features and one-hot labels. */
  static org.nd4j.linalg.dataset.DataSet batch(TrainingSet rows, int b, int bs) {
    org.nd4j.linalg.api.ndarray.INDArray x =
        org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, bs, 64);
    float[] y = new float[bs * 10];
    for (int i = 0; i < bs; i++) {
      int row = (b * bs + i * 7) % rows.numRows();
      x.putRow(i, org.nd4j.linalg.factory.Nd4j.createFromArray(rows.features(row)).reshape(1, 64));
      y[i * 10 + (int) rows.label(row)] = 1f;
    }
    return new org.nd4j.linalg.dataset.DataSet(x, org.nd4j.linalg.factory.Nd4j.createFromArray(y).reshape(bs, 10));
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
