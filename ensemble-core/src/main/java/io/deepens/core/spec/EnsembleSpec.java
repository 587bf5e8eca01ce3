package io.deepens.core.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A complete, validated ensemble spec. Read one with {@link SpecLoader}; write it with {@link #toJson()} (canonical:
 * every key present with its resolved default, fixed key order, no whitespace) and read that back with
 * {@link #fromJson(String)}. {@link #sha256()} fingerprints the canonical JSON for the manifest and provenance.
 *
 * <p>Cross-section rules checked here: classification needs {@code data.classes >= 2} and regression takes none;
 * {@code ensemble.temperature} is for classification only; the cnn preset needs {@code data.inputShape};
 * {@code ensemble.mcDropoutSamples > 0} needs {@code network.dropout > 0} for the presets;
 * {@code training.checkpointEveryRows} needs {@code data.placement: stream}.
 */
public record EnsembleSpec(
    String name,
    Task task,
    DataSpec data,
    NetworkSpec network,
    TrainingSpec training,
    EnsembleSection ensemble,
    ResourcesSpec resources) {
  private static final Pattern NAME_PATTERN = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  public EnsembleSpec {
    InvalidInputException.check(
        name != null && NAME_PATTERN.matcher(name).matches(),
        "name must be 1-128 characters of letters, digits, '.', '_' or '-' starting with a letter or digit, found %s",
        name);
    InvalidInputException.check(task != null, "task must be given");
    InvalidInputException.check(data != null, "data must be given");
    InvalidInputException.check(network != null, "network must be given");
    InvalidInputException.check(training != null, "training must be given");
    InvalidInputException.check(ensemble != null, "ensemble must be given");
    InvalidInputException.check(resources != null, "resources must be given");
    if (task == Task.CLASSIFICATION) {
      InvalidInputException.check(
          data.classes() >= 2, "data.classes must be >= 2 for task classification, found %d", data.classes());
    } else {
      InvalidInputException.check(
          data.classes() == 0, "data.classes applies only to task classification, found %d", data.classes());
      InvalidInputException.check(
          !ensemble.temperature(), "ensemble.temperature applies only to task classification, found true");
    }
    InvalidInputException.check(
        network.type() != NetworkType.CNN || data.inputShape() != null,
        "data.inputShape ([channels, height, width]) must be given for network.type cnn");
    InvalidInputException.check(
        ensemble.mcDropoutSamples() == 0 || network.type() == NetworkType.DL4J_JSON || network.dropout() > 0,
        "ensemble.mcDropoutSamples = %d needs network.dropout > 0, found %s",
        ensemble.mcDropoutSamples(), network.dropout());
    InvalidInputException.check(
        training.checkpointEveryRows() == 0 || data.placement() == Placement.STREAM,
        "training.checkpointEveryRows (%d) applies only to data.placement: stream; the copy placement checkpoints at "
            + "epoch boundaries", training.checkpointEveryRows());
    if (ensemble.hyperDeep() != null) {
      ensemble.hyperDeep().check(network, training, ensemble);
    }
    if (ensemble.swag() != null) {
      checkSwag(task, network, training);
      InvalidInputException.check(data.placement() == Placement.COPY || !network.batchNorm(),
          "ensemble.swag with network.batchNorm needs data.placement: copy (the batch-norm statistics of every SWAG"
              + " sample are computed over the member's stored training rows, which a streaming member does not"
              + " hold); use data.placement: copy or network.batchNorm: false");
    }
  }

  /**
   * What SWAG supports: plain MLP classifiers without dropout, with or without batch norm (its SGD epochs run on
   * the lean MLP step, or on DL4J's fit for batch-norm networks; batch-norm statistics are recomputed per weight
   * sample at the end of training), and no early stopping (the SWAG epochs continue from the last ordinary epoch).
   */
  private static void checkSwag(Task task, NetworkSpec network, TrainingSpec training) {
    InvalidInputException.check(task == Task.CLASSIFICATION && network.type() == NetworkType.MLP,
        "ensemble.swag needs task classification and network.type mlp (its SGD epochs run on the lean MLP step, or"
            + " DL4J's fit for batch norm), found task %s and network.type %s", task.key(), network.type().key());
    InvalidInputException.check(training.optimizer() == Optimizer.ADAM,
        "ensemble.swag needs training.optimizer adam for the ordinary epochs (the SWAG epochs then take plain SGD"
            + " steps), found %s", training.optimizer().key());
    InvalidInputException.check(network.dropout() == 0,
        "ensemble.swag needs network.dropout 0 (SWAG with dropout is not supported), found %s",
        network.dropout());
    InvalidInputException.check(training.earlyStoppingPatience() == 0,
        "ensemble.swag does not combine with training.earlyStopping (the SWAG epochs continue from the last"
            + " ordinary epoch); set training.earlyStopping.patience: 0, found %d", training.earlyStoppingPatience());
  }

  /** All epochs a member trains: {@code training.epochs} plus {@code ensemble.swag.epochs} when SWAG is on. */
  public int totalEpochs() {
    return training.epochs() + (ensemble.swag() == null ? 0 : ensemble.swag().epochs());
  }

  /** Number of network outputs: the classes, or 2 (mean, raw variance) for regression. */
  public int outputs() {
    return task == Task.CLASSIFICATION ? data.classes() : 2;
  }

  /** A copy with another member count (e.g. from {@code --members}). */
  public EnsembleSpec withMembers(int members) {
    EnsembleSection e = ensemble;
    return new EnsembleSpec(name, task, data, network, training,
        new EnsembleSection(members, e.seed(), e.bootstrap(), e.weighting(), e.temperature(), e.mcDropoutSamples(),
            e.hyperDeep(), e.swag()),
        resources);
  }

  /** A copy with another epoch count (e.g. from {@code --epochs}). */
  /** A copy with other resources (e.g. the thread count Spark actually gave a task, or --gpus-per-member). */
  public EnsembleSpec withResources(ResourcesSpec resources) {
    return new EnsembleSpec(name, task, data, network, training, ensemble, resources);
  }

  public EnsembleSpec withEpochs(int epochs) {
    TrainingSpec t = training;
    return new EnsembleSpec(name, task, data, network,
        new TrainingSpec(t.optimizer(), t.learningRate(), t.schedule(), t.weightDecay(), t.batchSize(), epochs,
            t.earlyStoppingPatience(), t.checkpointEveryRows()),
        ensemble, resources);
  }

  static final String NAME = "name";
  static final String TASK = "task";
  static final String DATA = "data";
  static final String NETWORK = "network";
  static final String TRAINING = "training";
  static final String ENSEMBLE = "ensemble";
  static final String RESOURCES = "resources";
  /** The top-level keys, in canonical order. */
  static final List<String> KEYS = List.of(NAME, TASK, DATA, NETWORK, TRAINING, ENSEMBLE, RESOURCES);

  /**
   * Reads a whole spec document, section by section, each section record reading its own keys ({@code resources}
   * may be left out); {@code base} resolves {@code network.configPath}.
   */
  static EnsembleSpec read(JsonNode document, Path base) {
    SpecNode root = new SpecNode(document, "", KEYS);
    String name = root.string(NAME, null, true);
    Task task = root.choice(TASK, Task.class, null, true);
    for (String section : List.of(DATA, NETWORK, TRAINING, ENSEMBLE)) {
      root.require(section);
    }
    DataSpec data = DataSpec.read(root.obj(DATA, DataSpec.KEYS), task == Task.CLASSIFICATION);
    NetworkSpec network = NetworkSpec.read(root.obj(NETWORK, NetworkSpec.KEYS), base);
    TrainingSpec training = TrainingSpec.read(root.obj(TRAINING, TrainingSpec.KEYS));
    EnsembleSection ensemble = EnsembleSection.read(root.obj(ENSEMBLE, EnsembleSection.KEYS));
    ResourcesSpec resources = ResourcesSpec.read(root.obj(RESOURCES, ResourcesSpec.KEYS));
    return new EnsembleSpec(name, task, data, network, training, ensemble, resources);
  }

  /** The canonical JSON: every key with its resolved value, fixed order, compact. */
  public String toJson() {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.put(NAME, name);
    root.put(TASK, task.key());
    data.write(root.putObject(DATA));
    network.write(root.putObject(NETWORK));
    training.write(root.putObject(TRAINING));
    ensemble.write(root.putObject(ENSEMBLE));
    resources.write(root.putObject(RESOURCES));
    return SpecLoader.write(root);
  }

  /** Reads JSON written by {@link #toJson()} (or any JSON with the spec-file keys), validated like a spec file. */
  public static EnsembleSpec fromJson(String json) {
    return SpecLoader.parseJson(json, "spec JSON");
  }

  /** Lower-case hex SHA-256 of the UTF-8 canonical JSON. */
  public String sha256() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(toJson().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new DeepensException("SHA-256 is not available in this JVM", e);
    }
  }
}
