package io.deepens.core.lean;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Raw pointers into ND4J float buffers, for the lean steps' direct BLAS calls. */
final class NativeFloats {
  private NativeFloats() {}

  /**
   * A pointer to {@code a}'s first element (its buffer's address plus its offset). It does not keep {@code a} alive:
   * hold {@code a} for as long as the pointer is used, or its memory may be freed under it.
   */
  static FloatPointer pointer(INDArray a) {
    Pointer raw = a.data().addressPointer();
    return new FloatPointer(raw).position(a.offset());
  }
}
