package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * One convolution block of the cnn preset: a square convolution ("same" padding) with the network's activation,
 * followed by a max pooling of {@code pool}×{@code pool} with stride {@code pool} when {@code pool >= 2}.
 *
 * @param filters output channels, >= 1
 * @param kernel square kernel size, >= 1
 * @param stride convolution stride, >= 1
 * @param pool max-pooling size; 0 or 1 means no pooling
 */
public record ConvLayerSpec(int filters, int kernel, int stride, int pool) {
  public ConvLayerSpec {
    InvalidInputException.check(filters >= 1, "network.conv[].filters must be >= 1, found %d", filters);
    InvalidInputException.check(kernel >= 1, "network.conv[].kernel must be >= 1, found %d", kernel);
    InvalidInputException.check(stride >= 1, "network.conv[].stride must be >= 1, found %d", stride);
    InvalidInputException.check(pool >= 0, "network.conv[].pool must be >= 0, found %d", pool);
  }

  static final String FILTERS = "filters";
  static final String KERNEL = "kernel";
  static final String STRIDE = "stride";
  static final String POOL = "pool";
  /** The keys of one block, in canonical order. */
  static final List<String> KEYS = List.of(FILTERS, KERNEL, STRIDE, POOL);

  static ConvLayerSpec read(SpecNode c) {
    int filters = c.integer(FILTERS, 0, true);
    int kernel = c.integer(KERNEL, 0, true);
    int stride = c.integer(STRIDE, 1, false);
    int pool = c.integer(POOL, 0, false);
    return new ConvLayerSpec(filters, kernel, stride, pool);
  }

  void write(ObjectNode o) {
    o.put(FILTERS, filters);
    o.put(KERNEL, kernel);
    o.put(STRIDE, stride);
    o.put(POOL, pool);
  }
}
