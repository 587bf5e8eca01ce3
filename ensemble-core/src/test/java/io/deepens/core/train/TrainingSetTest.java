package io.deepens.core.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingSetTest {
  @TempDir Path dir;

  private static float[] row(int i, int nf) {
    float[] x = new float[nf];
    for (int j = 0; j < nf; j++) {
      x[j] = i * 100 + j + 0.25f;
    }
    return x;
  }

  private static long files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  @Test
  void heapAndSpilledSetsHoldTheSameRows() throws IOException {
    int nf = 5;
    int n = 1000;
    // 7 rows per mapping: exercises rows in the first, middle and last chunks.
    TrainingSetBuilder heap = new TrainingSetBuilder(nf, null);
    TrainingSetBuilder spill = new TrainingSetBuilder(nf, dir, 7L * (nf + 1) * Float.BYTES);
    for (int i = 0; i < n; i++) {
      heap.add(row(i, nf), i % 10);
      spill.add(row(i, nf), i % 10);
    }
    assertEquals(1, files(dir));
    try (TrainingSet h = heap.build(); TrainingSet s = spill.build()) {
      assertFalse(h.isSpilled());
      assertTrue(s.isSpilled());
      assertEquals(n, s.numRows());
      assertEquals(nf, s.numFeatures());
      FloatBuffer dst = FloatBuffer.allocate(3 * nf);
      for (int i : new int[] {0, 6, 7, 13, 14, 500, 999}) {
        assertArrayEquals(row(i, nf), h.features(i), 0f);
        assertArrayEquals(row(i, nf), s.features(i), 0f);
        assertEquals(i % 10, s.label(i), 0f);
        s.copyFeatures(i, dst, 2 * nf);
        float[] got = new float[nf];
        dst.get(2 * nf, got);
        assertArrayEquals(row(i, nf), got, 0f);
      }
      assertThrows(IndexOutOfBoundsException.class, () -> s.label(n));
    }
    assertEquals(0, files(dir), "the spill file is deleted on close");
  }

  @Test
  void aSetCanBeReadInAnOrderGivenWhenItIsBuilt() throws IOException {
    int nf = 3;
    int[] order = {2, 0, 3, 1};
    for (Path spillDir : new Path[] {null, dir}) {
      TrainingSetBuilder b = new TrainingSetBuilder(nf, spillDir);
      for (int i = 0; i < order.length; i++) {
        b.add(row(i, nf), 10 + i);
      }
      try (TrainingSet s = b.build(order)) {
        for (int r = 0; r < order.length; r++) {
          assertArrayEquals(row(order[r], nf), s.features(r), 0f, "row " + r);
          assertEquals(10 + order[r], s.label(r), 0f);
          float[] copy = new float[nf + 1];
          s.copyFeatures(r, copy, 1);
          assertEquals(row(order[r], nf)[0], copy[1], 0f);
          FloatBuffer fb = FloatBuffer.allocate(nf);
          s.copyFeatures(r, fb, 0);
          assertEquals(row(order[r], nf)[nf - 1], fb.get(nf - 1), 0f);
        }
      }
    }
    TrainingSetBuilder b = new TrainingSetBuilder(nf, null);
    b.add(row(0, nf), 0).add(row(1, nf), 1);
    assertThrows(IllegalArgumentException.class, () -> b.build(new int[] {0, 0}));
    assertThrows(IllegalArgumentException.class, () -> b.build(new int[] {0}));
    assertThrows(IllegalArgumentException.class, () -> b.build(new int[] {0, 2}));
  }

  @Test
  void spilledRowsSurviveTheWriteBufferFillingUp() throws IOException {
    // 2,000 rows of 784 features and a label: 6.3 MB through a 1 MiB write buffer, which fills between rows
    int nf = 784;
    int n = 2000;
    TrainingSetBuilder spill = new TrainingSetBuilder(nf, dir);
    for (int i = 0; i < n; i++) {
      spill.add(row(i, nf), i % 7);
    }
    try (TrainingSet s = spill.build()) {
      for (int i = 0; i < n; i++) {
        assertArrayEquals(row(i, nf), s.features(i), 0f, "row " + i);
        assertEquals(i % 7, s.label(i), 0f, "label of row " + i);
      }
    }
  }

  @Test
  void defaultChunkingAndEmptySets() throws IOException {
    try (TrainingSet s = new TrainingSetBuilder(3, dir).build()) {
      assertEquals(0, s.numRows());
    }
    TrainingSetBuilder abandoned = new TrainingSetBuilder(3, dir);
    abandoned.add(new float[3], 1);
    abandoned.close();
    assertEquals(0, files(dir), "an abandoned builder deletes its file");
  }

  @Test
  void rowsWithTheWrongWidthAreRejected() {
    TrainingSetBuilder b = new TrainingSetBuilder(4, null);
    b.add(new float[4], 0);
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> b.add(new float[3], 0));
    assertEquals("row 1 has 3 features, expected 4", e.getMessage());
    assertThrows(InvalidInputException.class, () -> new TrainingSetBuilder(0, null));
  }

  @Test
  void heapGrowsBeyondItsInitialCapacity() {
    TrainingSetBuilder b = new TrainingSetBuilder(2, null);
    for (int i = 0; i < 10_000; i++) {
      b.add(new float[] {i, -i}, i);
    }
    TrainingSet s = b.build();
    assertEquals(10_000, s.numRows());
    assertArrayEquals(new float[] {9999, -9999}, s.features(9999), 0f);
    assertEquals(4321f, s.label(4321), 0f);
  }
}
