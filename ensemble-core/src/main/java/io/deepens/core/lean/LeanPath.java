package io.deepens.core.lean;

import io.deepens.core.InvalidInputException;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The one decision between a lean CPU path ({@link MlpTrainingStep}, {@link CnnTrainingStep}, {@link CnnForward},
 * {@link MlpEnsembleForward})
 * and DL4J's own {@code fit} / {@code output}, for training and for scoring alike.
 *
 * <p>The rule, checked in this order (the first that applies names the reason):
 * <ol>
 *   <li>no lean step exists for this kind of network (regression, a {@code dl4j-json} network, a computation graph):
 *       DL4J, {@link Reason#NO_LEAN_STEP_FOR_NETWORK};
 *   <li>ND4J's backend is not the CPU one: DL4J, {@link Reason#BACKEND_NOT_CPU}. The lean steps call OpenBLAS on host
 *       buffers and loop over them in Java; on the CUDA backend that bypasses the GPU the task bound (and the cuda build
 *       carries no native OpenBLAS). Checked before the network is inspected, so no lean class allocates there;
 *   <li>the switch for this kind is off ({@value #MLP_PROPERTY} for MLPs, {@value #CNN_PROPERTY} for CNNs, read by
 *       {@link #switchOn} in one way): DL4J, {@link Reason#SWITCHED_OFF};
 *   <li>the lean step's own checks reject the network (another activation, batch norm, another updater...): DL4J,
 *       {@link Reason#UNSUPPORTED_NETWORK}, the detail naming the failed check ({@link Rejection}, {@link #rejected});
 *   <li>otherwise the lean step, {@link Reason#CPU_BACKEND_AND_SUPPORTED_NETWORK}.
 * </ol>
 */
public final class LeanPath {
  /** System property: {@code false} (or {@code no}, {@code off}, {@code 0}) sends MLPs to DL4J in training and scoring. */
  public static final String MLP_PROPERTY = "deepens.fastMlp";
  /** System property: {@code false} (or {@code no}, {@code off}, {@code 0}) sends CNNs to DL4J in training and scoring. */
  public static final String CNN_PROPERTY = "deepens.fastCnn";

  private LeanPath() {}

  /** Which code runs the network. */
  public enum Path {
    /** This project's lean CPU step or forward pass. */
    LEAN,
    /** DL4J's {@code fit} / {@code output}, on whatever backend ND4J loaded (and the device the thread is bound to). */
    DL4J
  }

  /** The kind of network, as far as lean paths go. */
  public enum Kind {
    /** A dense classifier: {@link MlpTrainingStep} / {@link MlpEnsembleForward} may take it. */
    MLP,
    /** A convolutional classifier: {@link CnnTrainingStep} / {@link CnnForward} may take it. */
    CNN,
    /** Anything without a lean path. */
    OTHER
  }

  /** ND4J's backend, from {@link #current()}. */
  public enum Backend {
    CPU,
    CUDA,
    OTHER;

    /**
     * The backend ND4J loaded in this JVM (loads it if nothing did yet): {@code Environment.isCPU()}, and the
     * backend's class for CUDA ({@code org.nd4j.linalg.jcublas}). A JVM loads one backend, so it is asked once.
     */
    public static Backend current() {
      return Loaded.BACKEND;
    }
  }

  /** Holder: the backend, determined on first use. */
  private static final class Loaded {
    static final Backend BACKEND = Nd4j.getEnvironment().isCPU() ? Backend.CPU
        : Nd4j.getBackend().getClass().getName().startsWith("org.nd4j.linalg.jcublas") ? Backend.CUDA : Backend.OTHER;
  }

  /** Why a path was taken. */
  public enum Reason {
    CPU_BACKEND_AND_SUPPORTED_NETWORK(Path.LEAN, "ND4J's backend is the CPU one and the lean step supports the network"),
    NO_LEAN_STEP_FOR_NETWORK(Path.DL4J, "no lean step exists for this kind of network"),
    BACKEND_NOT_CPU(Path.DL4J, "ND4J's backend is not the CPU one (the lean steps run on host memory only)"),
    SWITCHED_OFF(Path.DL4J, "the lean path is switched off by its system property"),
    UNSUPPORTED_NETWORK(Path.DL4J, "the lean step does not support this network's layers, activations or updater");

    private final Path path;
    private final String description;

    Reason(Path path, String description) {
      this.path = path;
      this.description = description;
    }

    public Path path() {
      return path;
    }

    public String description() {
      return description;
    }
  }

  /**
   * A decision: the path, its reason, the backend and the kind of network it was made for.
   *
   * @param detail more about the reason (the property and its value, the failed check), or null
   */
  public record Decision(Path path, Reason reason, Backend backend, Kind kind, String detail) {
    public Decision {
      if (path != reason.path()) {
        throw new IllegalArgumentException("reason " + reason + " goes with path " + reason.path() + ", not " + path);
      }
    }

    /** One line for logs: path, reason and its description, backend. */
    public String describe() {
      return String.format(Locale.ROOT, "%s path (%s: %s%s; ND4J backend %s)", path, reason, reason.description(),
          detail == null ? "" : ", " + detail, backend);
    }
  }

  /** A decision and, for {@link Path#LEAN}, the lean step or forward pass it made (else null). */
  public record Choice<T>(Decision decision, T lean) {}

  /**
   * Decides for a network of kind {@code kind} on {@code backend}, with the switches read from {@code properties}
   * (a name → value lookup, normally {@code System::getProperty}); {@code leanFactory} builds the lean step, or
   * returns empty when the network is outside its supported set, and is called only when every other condition holds.
   *
   * @param rejection what to say when {@code leanFactory} declines (for the lean steps the named failed check,
   *     {@link #rejected}), called only then; may be null
   */
  public static <T> Choice<T> choose(Backend backend, Kind kind, UnaryOperator<String> properties,
      Supplier<Optional<T>> leanFactory, Supplier<String> rejection) {
    if (kind == Kind.OTHER) {
      return new Choice<>(dl4j(Reason.NO_LEAN_STEP_FOR_NETWORK, backend, kind, null), null);
    }
    if (backend != Backend.CPU) {
      return new Choice<>(dl4j(Reason.BACKEND_NOT_CPU, backend, kind, null), null);
    }
    String property = kind == Kind.MLP ? MLP_PROPERTY : CNN_PROPERTY;
    if (!switchOn(property, properties.apply(property))) {
      return new Choice<>(
          dl4j(Reason.SWITCHED_OFF, backend, kind, "-D" + property + "=" + properties.apply(property)), null);
    }
    Optional<T> lean = leanFactory.get();
    if (lean.isEmpty()) {
      return new Choice<>(
          dl4j(Reason.UNSUPPORTED_NETWORK, backend, kind, rejection == null ? null : rejection.get()), null);
    }
    return new Choice<>(new Decision(Path.LEAN, Reason.CPU_BACKEND_AND_SUPPORTED_NETWORK, backend, kind, null),
        lean.get());
  }

  /** {@link #choose} on this JVM's backend and system properties. */
  public static <T> Choice<T> choose(Kind kind, Supplier<Optional<T>> leanFactory, Supplier<String> rejection) {
    return choose(Backend.current(), kind, System::getProperty, leanFactory, rejection);
  }

  /**
   * The detail of a {@link Reason#UNSUPPORTED_NETWORK} decision when a lean factory declined with {@code why}: the
   * check's name and what it found, e.g. {@code failed check HIDDEN_LAYER (a hidden layer that is not ...)}.
   */
  public static String rejected(Rejection why) {
    return why == null ? "failed check (none recorded)" : "failed check " + why.name() + " (" + why.message() + ")";
  }

  private static Decision dl4j(Reason reason, Backend backend, Kind kind, String detail) {
    return new Decision(Path.DL4J, reason, backend, kind, detail);
  }

  /**
   * A switch's value, parsed one way for every reader: unset, empty, {@code true}, {@code yes}, {@code on} or
   * {@code 1} is on; {@code false}, {@code no}, {@code off} or {@code 0} is off (any case, surrounding blanks ignored).
   *
   * @throws InvalidInputException for anything else, naming the property and the accepted values
   */
  public static boolean switchOn(String property, String value) {
    if (value == null) {
      return true;
    }
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "", "true", "yes", "on", "1":
        return true;
      case "false", "no", "off", "0":
        return false;
      default:
        throw new InvalidInputException("system property " + property + " is '" + value
            + "'; use false (or no, off, 0) to turn the lean path off, true (or yes, on, 1, or leave it unset) for on");
    }
  }
}
