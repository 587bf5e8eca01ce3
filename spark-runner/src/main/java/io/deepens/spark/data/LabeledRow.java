package io.deepens.spark.data;

import java.io.Serializable;

/**
 * One validated row on its way to a member: a 64-bit row key (from the key column, or a content hash), the
 * features as float32 and the label (a class index, or a regression target).
 */
public final class LabeledRow implements Serializable {
  private static final long serialVersionUID = 1L;
  public long key;
  public float[] features;
  public float label;

  public LabeledRow() {}

  public LabeledRow(long key, float[] features, float label) {
    this.key = key;
    this.features = features;
    this.label = label;
  }
}
