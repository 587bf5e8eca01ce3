package io.deepens.core.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Reads the golden JSON fixtures written by {@code scripts/golden/*.py} (see the README beside each fixture). */
public final class GoldenJson {
  private GoldenJson() {}

  /** Reads resource {@code name} relative to {@code anchor}'s package. */
  public static JsonNode read(Class<?> anchor, String name) {
    try (InputStream in = anchor.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + name + " beside " + anchor.getName());
      }
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A JSON array of numbers; {@code null} entries become NaN. */
  public static double[] doubles(JsonNode n) {
    double[] a = new double[n.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = n.get(i).isNull() ? Double.NaN : n.get(i).doubleValue();
    }
    return a;
  }

  /** A JSON array of numbers that are exactly representable as float (written from float32 values). */
  public static float[] floats(JsonNode n) {
    float[] a = new float[n.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) n.get(i).doubleValue();
    }
    return a;
  }

  public static float[][] floatMatrix(JsonNode n) {
    float[][] a = new float[n.size()][];
    for (int i = 0; i < a.length; i++) {
      a[i] = floats(n.get(i));
    }
    return a;
  }

  public static double[][] doubleMatrix(JsonNode n) {
    double[][] a = new double[n.size()][];
    for (int i = 0; i < a.length; i++) {
      a[i] = doubles(n.get(i));
    }
    return a;
  }

  public static int[] ints(JsonNode n) {
    int[] a = new int[n.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = n.get(i).intValue();
    }
    return a;
  }

  public static long[] longs(JsonNode n) {
    long[] a = new long[n.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = n.get(i).longValue();
    }
    return a;
  }

  /** Java-serialises and deserialises {@code o}, as Spark does when it ships an accumulator. */
  @SuppressWarnings("unchecked")
  public static <T extends java.io.Serializable> T roundTrip(T o) {
    try {
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
        out.writeObject(o);
      }
      try (java.io.ObjectInputStream in =
          new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
        return (T) in.readObject();
      }
    } catch (IOException | ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }
}
