package io.deepens.core.train;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A member's state at an epoch boundary, or with the streaming placement also within an epoch: everything {@link MemberTrainer} needs to continue so that the final
 * parameters are bit-identical to an uninterrupted run. The network (with its updater state, iteration and epoch
 * counters) is a DL4J ModelSerializer zip; the best parameters are raw float32 values (little-endian).
 *
 * <p>Byte format ({@link #toBytes()}), all integers big-endian: magic {@code "DPCK"}, int version (1), int member,
 * the spec's SHA-256 (Java modified UTF-8), int epochsCompleted, int bestEpoch, long bits of bestMetric,
 * int epochsWithoutImprovement, boolean stopped, then
 * three length-prefixed blocks (int length, −1 for absent): history JSON (UTF-8), model zip, best parameters.
 * Version 2 (written only when a member collects SWAG moments; without them the bytes are version 1's) adds a
 * fourth block: the {@link SwagMoments} bytes. Version 3 (written only for a checkpoint within an epoch, streaming
 * placement) has that fourth block (length −1 without moments) and then long rowsInEpoch and the long bits of
 * lossSumInEpoch. Epoch-boundary checkpoints without SWAG keep version 1's bytes; all three versions are read.
 *
 * @param member member index
 * @param specSha256 {@link io.deepens.core.spec.EnsembleSpec#sha256()} of the spec being trained: a checkpoint is
 *     only resumed under the same spec
 * @param epochsCompleted epochs finished, k: training resumes at epoch k
 * @param bestEpoch epoch with the lowest monitored metric so far, −1 before the first
 * @param bestMetric that metric (validation NLL, or training loss without validation rows); +∞ before the first
 * @param epochsWithoutImprovement early-stopping counter
 * @param stopped true when early stopping ended training (nothing is left to run)
 * @param history metrics of epochs 0..k−1
 * @param model the network after epoch k−1, ModelSerializer bytes with updater state
 * @param bestParams the parameters after {@code bestEpoch} (float32 little-endian), or null when not tracked
 * @param swagMoments {@link SwagMoments#toBytes()} after epoch k−1 (within an epoch: after its rows trained so far)
 *     when SWAG epochs have begun, else null
 * @param rowsInEpoch rows of epoch {@code epochsCompleted} already trained on (streaming placement; 0 at an epoch
 *     boundary): the member resumes by replaying that epoch's stream past them without training
 * @param lossSumInEpoch the sum of minibatch loss × rows over those rows (0 at an epoch boundary)
 */
public record MemberCheckpoint(
    int member,
    String specSha256,
    int epochsCompleted,
    int bestEpoch,
    double bestMetric,
    int epochsWithoutImprovement,
    boolean stopped,
    List<EpochMetrics> history,
    byte[] model,
    byte[] bestParams,
    byte[] swagMoments,
    long rowsInEpoch,
    double lossSumInEpoch) {
  private static final int MAGIC = 0x4450434B; // "DPCK"
  private static final int VERSION = 1;
  private static final int VERSION_SWAG = 2;
  private static final int VERSION_WITHIN_EPOCH = 3;

  /** A checkpoint at an epoch boundary without SWAG moments. */
  public MemberCheckpoint(int member, String specSha256, int epochsCompleted, int bestEpoch, double bestMetric,
      int epochsWithoutImprovement, boolean stopped, List<EpochMetrics> history, byte[] model, byte[] bestParams) {
    this(member, specSha256, epochsCompleted, bestEpoch, bestMetric, epochsWithoutImprovement, stopped, history,
        model, bestParams, null, 0L, 0.0);
  }

  /** A checkpoint at an epoch boundary, with SWAG moments or null. */
  public MemberCheckpoint(int member, String specSha256, int epochsCompleted, int bestEpoch, double bestMetric,
      int epochsWithoutImprovement, boolean stopped, List<EpochMetrics> history, byte[] model, byte[] bestParams,
      byte[] swagMoments) {
    this(member, specSha256, epochsCompleted, bestEpoch, bestMetric, epochsWithoutImprovement, stopped, history,
        model, bestParams, swagMoments, 0L, 0.0);
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  public MemberCheckpoint {
    InvalidInputException.check(specSha256 != null, "a checkpoint needs the spec's SHA-256");
    InvalidInputException.check(epochsCompleted >= 0, "epochsCompleted must be >= 0, found %d", epochsCompleted);
    InvalidInputException.check(model != null && model.length > 0, "a checkpoint needs the model bytes");
    history = List.copyOf(history);
    InvalidInputException.check(
        history.size() == epochsCompleted,
        "a checkpoint after %d epochs needs %d history entries, found %d", epochsCompleted, epochsCompleted,
        history.size());
    InvalidInputException.check(rowsInEpoch >= 0, "rowsInEpoch must be >= 0, found %d", rowsInEpoch);
  }

  /** True for a checkpoint taken within an epoch (streaming placement). */
  public boolean withinEpoch() {
    return rowsInEpoch > 0;
  }

  public byte[] toBytes() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(model.length + 1024);
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeInt(MAGIC);
      out.writeInt(withinEpoch() ? VERSION_WITHIN_EPOCH : swagMoments != null ? VERSION_SWAG : VERSION);
      out.writeInt(member);
      out.writeUTF(specSha256);
      out.writeInt(epochsCompleted);
      out.writeInt(bestEpoch);
      out.writeLong(Double.doubleToRawLongBits(bestMetric));
      out.writeInt(epochsWithoutImprovement);
      out.writeBoolean(stopped);
      writeBlock(out, JSON.writeValueAsBytes(history));
      writeBlock(out, model);
      writeBlock(out, bestParams);
      if (withinEpoch() || swagMoments != null) {
        writeBlock(out, swagMoments);
      }
      if (withinEpoch()) {
        out.writeLong(rowsInEpoch);
        out.writeLong(Double.doubleToRawLongBits(lossSumInEpoch));
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new DeepensException("cannot encode the checkpoint of member " + member + ": " + e.getMessage(), e);
    }
  }

  public static MemberCheckpoint fromBytes(byte[] bytes) {
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
      int magic = in.readInt();
      if (magic != MAGIC) {
        throw new DeepensException(String.format("not a deepens member checkpoint (magic 0x%08X)", magic));
      }
      int version = in.readInt();
      if (version != VERSION && version != VERSION_SWAG && version != VERSION_WITHIN_EPOCH) {
        throw new DeepensException("unsupported member checkpoint version " + version + " (this build reads "
            + VERSION + ", " + VERSION_SWAG + " and " + VERSION_WITHIN_EPOCH + ")");
      }
      int member = in.readInt();
      String specSha256 = in.readUTF();
      int epochs = in.readInt();
      int bestEpoch = in.readInt();
      double bestMetric = Double.longBitsToDouble(in.readLong());
      int counter = in.readInt();
      boolean stopped = in.readBoolean();
      byte[] historyJson = readBlock(in);
      List<EpochMetrics> history = JSON.readValue(
          new String(historyJson, StandardCharsets.UTF_8), new TypeReference<List<EpochMetrics>>() {});
      byte[] model = readBlock(in);
      byte[] best = readBlock(in);
      byte[] swag = version >= VERSION_SWAG ? readBlock(in) : null;
      long rowsInEpoch = 0;
      double lossSum = 0;
      if (version == VERSION_WITHIN_EPOCH) {
        rowsInEpoch = in.readLong();
        lossSum = Double.longBitsToDouble(in.readLong());
      }
      return new MemberCheckpoint(member, specSha256, epochs, bestEpoch, bestMetric, counter, stopped, history, model,
          best, swag, rowsInEpoch, lossSum);
    } catch (IOException e) {
      throw new DeepensException("cannot decode a member checkpoint: " + e.getMessage(), e);
    }
  }

  private static void writeBlock(DataOutputStream out, byte[] b) throws IOException {
    if (b == null) {
      out.writeInt(-1);
    } else {
      out.writeInt(b.length);
      out.write(b);
    }
  }

  private static byte[] readBlock(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      return null;
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }
}
