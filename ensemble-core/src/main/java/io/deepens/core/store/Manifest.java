package io.deepens.core.store;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;

/**
 * The description of one published ensemble version, {@code versions/<version>/manifest.json}. Written last, so
 * its presence means the version is complete. Every file it lists carries a SHA-256 that readers verify before use.
 *
 * @param formatVersion layout version of this file ({@link #FORMAT_VERSION})
 * @param version the version's name, e.g. {@code v000003}
 * @param runId the training run that produced it
 * @param createdAt ISO-8601 instant of publication (informative only: nothing derives from it)
 * @param task {@code classification} or {@code regression}
 * @param numFeatures input width every member expects
 * @param outputs classes (classification) or 1 (regression)
 * @param spec the canonical ensemble spec as JSON
 * @param specSha256 SHA-256 of the canonical spec JSON
 * @param members one entry per trained member, diverged ones included (with weight 0 and no file)
 * @param weights mixture weights of the members that have a file, in {@code members} order, summing to 1
 * @param temperature fitted temperature (1 when none was fitted)
 * @param validation validation metrics of the ensemble and of each member, by name
 * @param data fingerprint of the training table
 * @param files SHA-256 of every file of the version, by path relative to the version folder
 * @param provenance library versions, Java, OS and CPU, master URL, command line
 * @param hyperDeep a hyper-deep ensemble's pool, selection path and cost; null for a plain deep ensemble (and in
 *     manifests written before it existed, which read unchanged)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Manifest(
    int formatVersion,
    String version,
    String runId,
    String createdAt,
    String task,
    int numFeatures,
    int outputs,
    JsonNode spec,
    String specSha256,
    List<MemberEntry> members,
    double[] weights,
    double temperature,
    Map<String, Object> validation,
    DataFingerprint data,
    Map<String, String> files,
    Map<String, Object> provenance,
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    io.deepens.core.hyper.HyperDeepReport hyperDeep) {

  /** A plain deep ensemble's manifest (no {@code hyperDeep}). */
  public Manifest(int formatVersion, String version, String runId, String createdAt, String task, int numFeatures,
      int outputs, JsonNode spec, String specSha256, List<MemberEntry> members, double[] weights, double temperature,
      Map<String, Object> validation, DataFingerprint data, Map<String, String> files,
      Map<String, Object> provenance) {
    this(formatVersion, version, runId, createdAt, task, numFeatures, outputs, spec, specSha256, members, weights,
        temperature, validation, data, files, provenance, null);
  }

  /**
   * The layout version of {@code manifest.json}. History (changes of content that keep the layout, and so the
   * number, are listed too, since a reader comparing versions across builds would see them):
   *
   * <ul>
   *   <li>1: the first layout.
   *   <li>1, December 2026: pseudo-BMA weights and, with {@code ensemble.mcDropoutSamples > 0}, the validation
   *       passes (hence weights, temperature and validation metrics) draw from seed purposes of their own
   *       ({@link io.deepens.core.random.SeedPurpose#WEIGHT_BOOTSTRAP}, {@code MC_VALIDATION}, {@code MC_SCORING}):
   *       the same spec and seed publish other numbers there than earlier builds; member files are unchanged.
   *       {@code provenance.arguments} holds the command line (values of secret-looking {@code --conf} keys and
   *       URI passwords removed) instead of an empty list, and {@code provenance.deepensVersion} the build's
   *       project version instead of a literal.
   *   <li>1, December 2026: an optional {@code hyperDeep} object (pool, selection path, cost) for hyper-deep
   *       ensembles; its member indices start after the pool's (index K + j for retrained member j).
   * </ul>
   */
  public static final int FORMAT_VERSION = 1;

  /**
   * One member.
   *
   * @param index member index 0..M-1 (the seed derives from it); K..K+M-1 in a hyper-deep ensemble with a pool of
   *     K candidates
   * @param file path of its model relative to the version folder, null for a dropped member
   * @param sha256 SHA-256 of that file
   * @param status {@code OK}, {@code EARLY_STOPPED} or {@code DIVERGED}
   * @param report the member's training report (epochs, metrics, seeds, provenance)
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record MemberEntry(int index, String file, String sha256, String status, JsonNode report) {
    public boolean usable() {
      return file != null;
    }
  }

  /**
   * What the ensemble was trained on.
   *
   * @param uri the training table
   * @param rows rows read
   * @param trainRows rows in the training part
   * @param validationRows rows in the validation part
   * @param contentHash order-independent hash of all rows (keys, features and labels)
   * @param schema the table's schema as Spark printed it
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record DataFingerprint(
      String uri, long rows, long trainRows, long validationRows, String contentHash, String schema) {}

  /** The members that have a model file, in manifest order (the order of {@link #weights}). */
  public List<MemberEntry> usableMembers() {
    return members.stream().filter(MemberEntry::usable).toList();
  }
}
