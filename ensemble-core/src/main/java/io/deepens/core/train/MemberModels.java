package io.deepens.core.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.core.network.GaussianNllLoss;
import io.deepens.core.network.MemberNetwork;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reading, writing, fingerprinting and running trained members. Files are DL4J ModelSerializer zips (configuration
 * JSON, raw coefficients, updater state) of a {@link MultiLayerNetwork} or a {@link ComputationGraph}, told apart by
 * the configuration JSON ({@code "vertices"} for a graph). {@link #read} accepts only those entries, so nothing in
 * a member file is ever Java-deserialised. Networks are not thread-safe: use one per thread.
 *
 * <p>Member file format versions ({@link #FORMAT_VERSION}): 1, the ModelSerializer entries only; 2 (MultiSWAG),
 * plus an entry {@value #SWAG_ENTRY} holding the member's {@link SwagMoments} (their bytes carry their own version).
 * A member without SWAG moments is still written as version 1, byte for byte as before; both versions load, and a
 * version-1 file scores as it always did. A member with batch norm stores, in the same entry, S sets of batch-norm
 * statistics (its {@link SwagMoments} bytes are then their version 2; older builds refuse them with "upgrade
 * deepens"); the member file format stays 2.
 */
public final class MemberModels {
  /** The ModelSerializer entries a member file may hold. */
  private static final Set<String> ALLOWED_ENTRIES =
      Set.of("configuration.json", "coefficients.bin", "updaterState.bin", "noParams.marker", MemberModels.SWAG_ENTRY);
  /** The zip entry of a member's SWAG moments (format version 2). */
  public static final String SWAG_ENTRY = "swagMoments.bin";
  /** The newest member file format this build writes and reads (see the class comment). */
  public static final int FORMAT_VERSION = 2;

  private static final ObjectMapper JSON = new ObjectMapper();

  private MemberModels() {}

  /**
   * Writes the network with its updater state in ModelSerializer's layout (the entries {@code configuration.json},
   * {@code coefficients.bin}, {@code updaterState.bin}, each array in {@code Nd4j.write}'s format), so that
   * {@code ModelSerializer.restore*} and {@link #read} read it. The entries are stored without compression:
   * float32 parameters hardly compress (by ~16 % for the reference MLP) and deflating them made every epoch's
   * checkpoint ~7× slower (scripts/bench/README.md). Entries carry a fixed date ({@link #entry}). {@code out} is
   * flushed, not closed.
   */
  public static void write(MemberNetwork network, OutputStream out) {
    write(network, null, out);
  }

  /**
   * {@link #write(MemberNetwork, OutputStream)}, plus the entry {@value #SWAG_ENTRY} (format version 2) when
   * {@code swag} is not null.
   */
  public static void write(MemberNetwork network, SwagMoments swag, OutputStream out) {
    String configuration;
    INDArray updaterState;
    if (network.multiLayerNetwork().isPresent()) {
      MultiLayerNetwork n = network.multiLayerNetwork().get();
      configuration = n.getLayerWiseConfigurations().toJson();
      updaterState = n.getUpdater() == null ? null : n.getUpdater().getStateViewArray();
    } else {
      ComputationGraph g = network.computationGraph().orElseThrow();
      configuration = g.getConfiguration().toJson();
      updaterState = g.getUpdater() == null ? null : g.getUpdater().getStateViewArray();
    }
    try {
      ZipOutputStream zip = new ZipOutputStream(new FilterOutputStream(out) {
        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
          flush();
        }
      });
      zip.setLevel(Deflater.NO_COMPRESSION);
      zip.putNextEntry(entry("configuration.json"));
      zip.write(configuration.getBytes(StandardCharsets.UTF_8));
      DataOutputStream arrays = new DataOutputStream(new BufferedOutputStream(zip, 1 << 16));
      INDArray params = network.model().params();
      zip.putNextEntry(entry("coefficients.bin"));
      if (params != null) {
        Nd4j.write(params, arrays);
        arrays.flush();
      } else {
        zip.putNextEntry(entry("noParams.marker")); // a network without parameters, as DL4J marks it
      }
      if (updaterState != null && updaterState.length() > 0) {
        zip.putNextEntry(entry("updaterState.bin"));
        Nd4j.write(updaterState, arrays);
        arrays.flush();
      }
      if (swag != null) {
        zip.putNextEntry(entry(SWAG_ENTRY));
        zip.write(swag.toBytes());
      }
      zip.close();
      out.flush();
    } catch (IOException e) {
      throw new DeepensException("cannot write member network: " + e.getMessage(), e);
    }
  }

  /**
   * A zip entry dated 1980-01-01 00:00 (the zip format's first day, as a local date-time, so no time zone enters):
   * the same network gives the same bytes, and the same member file SHA-256, whenever and wherever it is written.
   */
  private static ZipEntry entry(String name) {
    ZipEntry e = new ZipEntry(name);
    e.setTimeLocal(java.time.LocalDateTime.of(1980, 1, 1, 0, 0));
    return e;
  }

  /** The network as ModelSerializer bytes (with updater state). */
  public static byte[] toBytes(MemberNetwork network) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    write(network, bytes);
    return bytes.toByteArray();
  }

  /** Reads a network written by {@link #write} (with its updater state); the stream is read to its end. */
  public static MemberNetwork read(InputStream in) {
    try {
      return fromBytes(in.readAllBytes());
    } catch (IOException e) {
      throw new DeepensException("cannot read member network: " + e.getMessage(), e);
    }
  }

  /**
   * The SWAG moments of a member file ({@link #write(MemberNetwork, SwagMoments, OutputStream)}), or null for a
   * file without them (format version 1); {@code what} names the file in errors.
   */
  public static SwagMoments readSwag(byte[] bytes, String what) {
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        if (e.getName().equals(SWAG_ENTRY)) {
          return SwagMoments.fromBytes(zip.readAllBytes(), what);
        }
      }
      return null;
    } catch (IOException e) {
      throw new DeepensException("cannot read the SWAG moments of " + what + ": " + e.getMessage(), e);
    }
  }

  /**
   * S networks whose parameters are S draws from the member's SWAG Gaussian, its covariance times {@code scale}
   * ({@code ensemble.swag.scale}): draw s is {@link SwagMoments#component}(ensembleSeed, member, s, scale), so the
   * same member gives the same S networks wherever and whenever they are drawn. Each is a copy of {@code network}
   * (the configuration) with the sampled parameters; they are the member's mixture components. For a network with
   * batch norm the draw replaces the trainable parameters ({@link SwagBatchNorm#trainableIndices}) and draw s then
   * gets the member's stored set s of batch-norm statistics ({@link SwagBatchNorm#apply}), computed at the end of its
   * training under the same draw.
   */
  public static MemberNetwork[] swagSamples(
      MemberNetwork network, SwagMoments swag, int samples, double scale, long ensembleSeed, int member) {
    InvalidInputException.check(samples >= 1, "SWAG samples must be >= 1, found %d", samples);
    boolean bn = SwagBatchNorm.has(network);
    if (bn != swag.hasBatchNorm()) {
      throw new DeepensException(bn
          ? "member " + member + "'s network has batch norm but its SWAG moments hold no batch-norm statistics"
          : "member " + member + "'s SWAG moments hold batch-norm statistics but its network has no batch norm");
    }
    int[] trainable = bn ? SwagBatchNorm.trainableIndices(network) : null;
    InvalidInputException.check(swag.numParams() == (bn ? trainable.length : network.params().length()),
        "member %d's SWAG moments have %d parameters but its network has %d%s", member, swag.numParams(),
        bn ? trainable.length : network.params().length(), bn ? " trainable ones" : "");
    if (bn) {
      InvalidInputException.check(samples <= swag.batchNormSets(),
          "member %d holds batch-norm statistics for %d SWAG samples but %d are asked for; retrain with"
              + " ensemble.swag.samples >= %d", member, swag.batchNormSets(), samples, samples);
    }
    float[] base = bn ? network.params().castTo(DataType.FLOAT).dup('c').data().asFloat() : null;
    MemberNetwork[] out = new MemberNetwork[samples];
    for (int s = 0; s < samples; s++) {
      float[] theta = swag.component(ensembleSeed, member, s, scale);
      MemberNetwork copy = network.copy();
      if (bn) {
        float[] full = base.clone();
        SwagBatchNorm.scatter(theta, trainable, full);
        theta = full;
      }
      copy.setParams(Nd4j.createFromArray(theta).reshape(1, theta.length));
      if (bn) {
        SwagBatchNorm.apply(copy, swag.batchNorm(s));
      }
      out[s] = copy;
    }
    return out;
  }

  /** Reads ModelSerializer bytes after checking that the zip holds only the expected entries. */
  public static MemberNetwork fromBytes(byte[] bytes) {
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
      boolean any = false;
      byte[] configuration = null;
      for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
        any = true;
        if (!ALLOWED_ENTRIES.contains(e.getName())) {
          throw new DeepensException("member file holds an unexpected entry '" + e.getName() + "' (allowed: "
              + ALLOWED_ENTRIES + "); refusing to read it");
        }
        if (e.getName().equals("configuration.json")) {
          configuration = zip.readAllBytes();
        }
      }
      if (!any) {
        throw new DeepensException("member file is not a ModelSerializer zip");
      }
      if (configuration == null) {
        throw new DeepensException("member file has no configuration.json");
      }
      JsonNode root = JSON.readTree(configuration);
      if (root != null && root.has("vertices")) {
        return MemberNetwork.of(ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes), true));
      }
      return MemberNetwork.of(ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes), true));
    } catch (IOException e) {
      throw new DeepensException("cannot read member network: " + e.getMessage(), e);
    }
  }

  /** SHA-256 (lower-case hex) of the parameters as float32 little-endian bytes. */
  public static String paramsSha256(MemberNetwork network) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(paramBytes(network.params()));
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new DeepensException("SHA-256 is not available in this JVM", e);
    }
  }

  /** Parameters as float32 little-endian bytes. */
  static byte[] paramBytes(INDArray params) {
    float[] p = params.castTo(DataType.FLOAT).dup('c').data().asFloat();
    ByteBuffer b = ByteBuffer.allocate(p.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(p);
    return b.array();
  }

  /** The inverse of {@link #paramBytes}: a 1×n float row vector. */
  static INDArray paramsFromBytes(byte[] bytes) {
    float[] p = new float[bytes.length / Float.BYTES];
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(p);
    return Nd4j.createFromArray(p).reshape(1, p.length);
  }

  /**
   * Runs the network in inference mode on {@code rows} rows given row-major. Returns rows × outputs row-major:
   * class probabilities, or for regression (mean, variance) pairs in target units: mean = m + s·μ and
   * variance = s²·(softplus(raw) + 1e-6), with the network's target standardisation m, s ({@link GaussianNllLoss}).
   */
  public static float[] predict(MemberNetwork network, float[] rowMajorFeatures, int rows, int numFeatures) {
    INDArray x = features(rowMajorFeatures, rows, numFeatures);
    return toOutputs(network, network.output(x));
  }

  /**
   * {@link #predict(MemberNetwork, float[], int, int)} on features already in an ND4J array (rows × features),
   * so several members can share one copy of a batch.
   */
  public static float[] predict(MemberNetwork network, INDArray features) {
    return toOutputs(network, network.output(features));
  }

  /** The row-major {@code rows × numFeatures} values as an ND4J array (one copy), for {@link #predict}. */
  public static INDArray features(float[] rowMajorFeatures, int rows, int numFeatures) {
    InvalidInputException.check(rows >= 1 && numFeatures >= 1,
        "rows and numFeatures must be >= 1, found %d and %d", rows, numFeatures);
    InvalidInputException.check(
        rowMajorFeatures != null && rowMajorFeatures.length == (long) rows * numFeatures,
        "expected %d × %d = %d feature values, found %s", rows, numFeatures, (long) rows * numFeatures,
        rowMajorFeatures == null ? "none" : rowMajorFeatures.length);
    return Nd4j.create(rowMajorFeatures, new long[] {rows, numFeatures}, 'c');
  }

  static float[] toOutputs(MemberNetwork network, INDArray out) {
    float[] r = out.castTo(DataType.FLOAT).dup('c').data().asFloat();
    GaussianNllLoss g = network.gaussianLoss();
    if (g != null) {
      for (int i = 0; i + 1 < r.length; i += 2) {
        r[i] = (float) g.meanInTargetUnits(r[i]);
        r[i + 1] = (float) g.varianceInTargetUnits(r[i + 1]);
      }
    }
    return r;
  }
}
