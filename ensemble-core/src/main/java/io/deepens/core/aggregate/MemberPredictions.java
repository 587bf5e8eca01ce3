package io.deepens.core.aggregate;

/**
 * One member's outputs on the validation rows, row-major [rows x width]: class probabilities (width = classes),
 * or (mean, variance) pairs for regression (width = 2). Every member's rows are in the same order.
 *
 * <p>With Monte Carlo dropout ({@code samples} = S > 1) {@code outputs} holds S such blocks one after another, pass s
 * at {@code [s·rows·width, (s+1)·rows·width)}: the member's components in the published mixture.
 */
public record MemberPredictions(int member, float[] outputs, int width, int samples) {
  public MemberPredictions {
    if (samples < 1) {
      throw new IllegalArgumentException("samples must be >= 1, found " + samples);
    }
  }

  /** Deterministic outputs (one pass). */
  public MemberPredictions(int member, float[] outputs, int width) {
    this(member, outputs, width, 1);
  }

  /** Pass {@code s} of {@code rows} rows. */
  public float[] pass(int s, int rows) {
    if (samples == 1) {
      return outputs;
    }
    int n = rows * width;
    return java.util.Arrays.copyOfRange(outputs, s * n, (s + 1) * n);
  }
}
