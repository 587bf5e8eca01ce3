package io.deepens.core.spec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads ensemble specs from YAML (or JSON) into validated records. The document is read into a Jackson tree; each
 * spec record reads its own section from it and writes it back into the canonical JSON (its keys are spelled once,
 * as constants beside its fields), so that every error names the source, the key path, the value found and the
 * rule, e.g. {@code conf/x.yaml: training.learningRate must be > 0, found -1.0}. Unknown keys are errors that list
 * the allowed keys; duplicate keys are errors.
 *
 * <p>Keys and defaults (see {@code conf/digits-mlp.yaml}):
 *
 * <pre>
 * name (required), task: classification | regression (required)
 * data: features (a column name or a list, required), label (required), classes (classification, >= 2),
 *       key (optional), validation: {fraction (default 0.1, or 0 with table), table (optional)},
 *       inputShape: [channels, height, width] (required by cnn)
 * network: type: mlp | cnn | dl4j-json (required), hidden: [] , activation: relu, dropout: 0, batchNorm: false,
 *          conv: [{filters, kernel, stride: 1, pool: 0}] (cnn), config: inline JSON or configPath: file (dl4j-json,
 *          relative to the spec file)
 * training: optimizer: adam, learningRate: 0.001, schedule: {type: constant | step (decay: 0.1, every) |
 *           exponential (decay) | cosine (minLearningRate: 0)}, weightDecay: 0, batchSize: 128, epochs: 10,
 *           earlyStopping: {patience: 0}
 * ensemble: members: 5, seed: 0, bootstrap: false, weighting: uniform | stacking | pseudo-bma,
 *           temperature: false, mcDropoutSamples: 0,
 *           swag: {epochs (required), learningRate (required), rank: min(20, epochs × snapshotsPerEpoch),
 *                  snapshotsPerEpoch: 1, samples: 10} (absent: off)
 * resources: threadsPerMember: 1, gpusPerMember: 0
 * </pre>
 */
public final class SpecLoader {
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private SpecLoader() {}

  /** Reads a YAML (or JSON) spec file; {@code network.configPath} is resolved against the file's folder. */
  public static EnsembleSpec load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new InvalidInputException("cannot read spec file " + file + ": " + e.getMessage(), e);
    }
    Path base = file.toAbsolutePath().getParent();
    return fromTree(readTree(YAML, text, file.toString()), file.toString(), base);
  }

  /** Parses YAML text; {@code sourceName} prefixes every message; relative config paths use the working folder. */
  public static EnsembleSpec parse(String yaml, String sourceName) {
    return fromTree(readTree(YAML, yaml, sourceName), sourceName, Path.of(""));
  }

  static EnsembleSpec parseJson(String json, String sourceName) {
    return fromTree(readTree(JSON, json, sourceName), sourceName, Path.of(""));
  }

  private static JsonNode readTree(ObjectMapper mapper, String text, String source) {
    try {
      JsonNode tree = mapper.readTree(text);
      if (tree == null || tree.isMissingNode() || tree.isNull()) {
        throw new InvalidInputException(source + ": the spec is empty");
      }
      return tree;
    } catch (JsonProcessingException e) {
      throw new InvalidInputException(source + ": not a valid spec document: " + e.getOriginalMessage(), e);
    }
  }

  private static EnsembleSpec fromTree(JsonNode root, String source, Path base) {
    try {
      return EnsembleSpec.read(root, base);
    } catch (InvalidInputException e) {
      throw new InvalidInputException(source + ": " + e.getMessage(), e);
    }
  }

  /** The compact JSON text of a canonical spec tree. */
  static String write(ObjectNode canonical) {
    try {
      return JSON.writeValueAsString(canonical);
    } catch (JsonProcessingException ex) {
      throw new DeepensException("cannot write spec JSON: " + ex.getMessage(), ex);
    }
  }
}
