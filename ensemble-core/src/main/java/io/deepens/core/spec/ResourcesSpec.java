package io.deepens.core.spec;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.InvalidInputException;
import java.util.List;

/**
 * What one member task asks of an executor.
 *
 * @param threadsPerMember ND4J/OpenMP threads per member task, >= 1 (spark.task.cpus on a cluster)
 * @param gpusPerMember a whole number >= 0, or a fraction 1/n with n >= 2 to pack n members on one GPU
 */
public record ResourcesSpec(int threadsPerMember, double gpusPerMember) {
  public ResourcesSpec {
    InvalidInputException.check(
        threadsPerMember >= 1, "resources.threadsPerMember must be >= 1, found %d", threadsPerMember);
    InvalidInputException.check(
        isValidGpuAmount(gpusPerMember),
        "resources.gpusPerMember must be a whole number >= 0 or a fraction 1/n with n >= 2 (0.5, 0.25, 0.2, ...),"
            + " found %s", gpusPerMember);
  }

  static final String THREADS_PER_MEMBER = "threadsPerMember";
  static final String GPUS_PER_MEMBER = "gpusPerMember";
  /** The keys under {@code resources}, in canonical order. */
  static final List<String> KEYS = List.of(THREADS_PER_MEMBER, GPUS_PER_MEMBER);

  static ResourcesSpec read(SpecNode r) {
    int threads = r.integer(THREADS_PER_MEMBER, 1, false);
    double gpus = r.dbl(GPUS_PER_MEMBER, 0.0, false);
    return new ResourcesSpec(threads, gpus);
  }

  void write(ObjectNode o) {
    o.put(THREADS_PER_MEMBER, threadsPerMember);
    o.put(GPUS_PER_MEMBER, gpusPerMember);
  }

  /** True for 0, 1, 2, ... and for 1/n (n >= 2) up to a relative error of 1e-3 (so 0.333 means 1/3). */
  static boolean isValidGpuAmount(double g) {
    if (!Double.isFinite(g) || g < 0) {
      return false;
    }
    if (g >= 1 || g == 0) {
      return g == Math.rint(g);
    }
    long n = Math.round(1 / g);
    return n >= 2 && Math.abs(g * n - 1) < 1e-3;
  }

  /** For a fraction 1/n, the number n of members sharing one GPU; else 1. */
  public int membersPerGpu() {
    return gpusPerMember > 0 && gpusPerMember < 1 ? (int) Math.round(1 / gpusPerMember) : 1;
  }
}
