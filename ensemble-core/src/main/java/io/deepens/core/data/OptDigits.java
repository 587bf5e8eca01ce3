package io.deepens.core.data;

import io.deepens.core.DeepensException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The embedded default data set: UCI optical recognition of handwritten digits (Alpaydin and Kaynak 1998, CC BY
 * 4.0), 1,797 images of 8x8 pixel counts in 0..16 with labels 0..9, as shipped in Debian's python3-sklearn.
 *
 * <p>Pixels are scaled to [0, 1] by dividing by 16. Row order is the file's order; {@link #id(int)} is the row's
 * zero-based position, a stable key.
 */
public final class OptDigits {
  public static final int ROWS = 1797;
  public static final int FEATURES = 64;
  public static final int CLASSES = 10;
  private static final String RESOURCE = "optdigits-8x8.csv.gz";

  private final float[][] features;
  private final int[] labels;

  private OptDigits(float[][] features, int[] labels) {
    this.features = features;
    this.labels = labels;
  }

  /** Reads the embedded file from the class path. */
  public static OptDigits load() {
    try (InputStream raw = OptDigits.class.getResourceAsStream(RESOURCE)) {
      if (raw == null) {
        throw new DeepensException("embedded data set " + RESOURCE + " is missing from the class path");
      }
      BufferedReader in =
          new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII));
      List<float[]> xs = new ArrayList<>(ROWS);
      List<Integer> ys = new ArrayList<>(ROWS);
      String line;
      int lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        String[] parts = line.split(",");
        if (parts.length != FEATURES + 1) {
          throw new DeepensException(
              RESOURCE + " line " + lineNo + ": expected " + (FEATURES + 1) + " values, found " + parts.length);
        }
        float[] x = new float[FEATURES];
        for (int j = 0; j < FEATURES; j++) {
          x[j] = Float.parseFloat(parts[j].trim()) / 16f;
        }
        xs.add(x);
        ys.add((int) Float.parseFloat(parts[FEATURES].trim()));
      }
      int[] labels = new int[ys.size()];
      for (int i = 0; i < labels.length; i++) {
        labels[i] = ys.get(i);
      }
      return new OptDigits(xs.toArray(new float[0][]), labels);
    } catch (IOException e) {
      throw new DeepensException("cannot read embedded data set " + RESOURCE + ": " + e.getMessage(), e);
    }
  }

  public int rows() {
    return labels.length;
  }

  /** The row's 64 pixels scaled to [0, 1]; the caller must not modify the array. */
  public float[] features(int row) {
    return features[row];
  }

  public int label(int row) {
    return labels[row];
  }

  public long id(int row) {
    return row;
  }
}
