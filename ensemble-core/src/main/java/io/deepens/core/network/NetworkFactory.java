package io.deepens.core.network;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.ConvLayerSpec;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.NetworkSpec;
import io.deepens.core.spec.NetworkType;
import io.deepens.core.spec.ScheduleSpec;
import io.deepens.core.spec.Task;
import io.deepens.core.spec.TrainingSpec;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.schedule.ExponentialSchedule;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;

/**
 * Builds one member's network from the spec, as a {@link MemberNetwork} whose weights are initialised from
 * {@code initSeed} only. The presets are float32 {@link MultiLayerNetwork}s.
 *
 * <ul>
 *   <li>{@code mlp}: dense hidden layers (He init for ReLU-like activations, Xavier otherwise), each optionally
 *       followed by batch normalisation; dropout with drop probability p on the input of every layer after the
 *       first.
 *   <li>{@code cnn}: the flat input is read as C×H×W ({@code data.inputShape}); each conv block is a "same" padded
 *       convolution (+ batch norm) + max pooling; then the dense hidden layers as in mlp.
 *   <li>{@code dl4j-json}: the user's {@code MultiLayerConfiguration} JSON (a {@link MultiLayerNetwork}) or
 *       {@code ComputationGraphConfiguration} JSON (a {@link ComputationGraph} with exactly one input, the feature
 *       vector, and one output layer), with every layer's seed (and a graph's default seed, which seeds its
 *       initialisation) replaced by {@code initSeed}; its own updater and regularisation are kept. Its input
 *       width and its output count (data.classes, or 2 for regression) are checked against the data.
 * </ul>
 *
 * Heads: classification is softmax + multi-class cross-entropy; regression is 2 identity outputs (mean, raw
 * variance) trained with {@link GaussianNllLoss} on standardised targets. The learning rate follows {@code training.schedule} by epoch
 * (DL4J {@link ISchedule} of type EPOCH: the trainer sets the network's epoch count) and
 * {@code training.weightDecay} is DL4J's {@code WeightDecay} on weights (not biases), scaled by the learning rate.
 */
public final class NetworkFactory {
  private static final ObjectMapper JSON = new ObjectMapper();

  private NetworkFactory() {}

  /** Builds and initialises the network of one member; regression targets are used unstandardised. */
  public static MemberNetwork build(EnsembleSpec spec, int numFeatures, long initSeed) {
    return build(spec, numFeatures, initSeed, 0.0, 1.0);
  }

  /**
   * Builds and initialises the network of one member. For a regression preset, the Gaussian head works on targets
   * standardised with {@code targetMean} and {@code targetScale} (see {@link GaussianNllLoss}); classification and
   * dl4j-json networks ignore them.
   */
  public static MemberNetwork build(
      EnsembleSpec spec, int numFeatures, long initSeed, double targetMean, double targetScale) {
    InvalidInputException.check(numFeatures >= 1, "numFeatures must be >= 1, found %d", numFeatures);
    GaussianNllLoss gaussian = new GaussianNllLoss(targetMean, targetScale);
    MemberNetwork net = switch (spec.network().type()) {
      case MLP -> multiLayer(preset(spec, numFeatures, initSeed, false, gaussian));
      case CNN -> multiLayer(preset(spec, numFeatures, initSeed, true, gaussian));
      case DL4J_JSON -> userNetwork(spec, initSeed);
    };
    if (spec.network().type() == NetworkType.DL4J_JSON) {
      checkShape(net, spec, numFeatures);
    }
    return net;
  }

  /**
   * Checks the spec's network against rows of {@code numFeatures} features before any training: builds one
   * network (member 0's initialisation is as good as any) and throws {@link InvalidInputException} naming the spec
   * key when the configuration or its input and output widths do not fit.
   */
  public static void validate(EnsembleSpec spec, int numFeatures) {
    build(spec, numFeatures, 0L);
  }

  /**
   * Checks what can be checked of a {@code dl4j-json} network without data, and without building it: the JSON's
   * kind, a graph's single input and output, the output layer and, for regression, its Gaussian loss. Nothing to
   * check for the presets. The input width and output count are checked by {@link #validate} once the data's
   * width is known.
   */
  public static void checkConfiguration(EnsembleSpec spec) {
    if (spec.network().type() != NetworkType.DL4J_JSON) {
      return;
    }
    String json = spec.network().config();
    if (isGraph(json)) {
      userGraph(spec, json, 0L);
    } else {
      userLayers(spec, json, 0L);
    }
  }

  private static MemberNetwork multiLayer(MultiLayerConfiguration conf) {
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return MemberNetwork.of(net);
  }

  /** The updater with the spec's learning-rate schedule. */
  static IUpdater updater(TrainingSpec t) {
    ISchedule schedule = schedule(t);
    return switch (t.optimizer()) {
      case ADAM -> schedule == null ? new Adam(t.learningRate()) : new Adam(schedule);
      case SGD -> schedule == null ? new Sgd(t.learningRate()) : new Sgd(schedule);
      case NESTEROVS -> schedule == null
          ? new Nesterovs(t.learningRate(), 0.9) : new Nesterovs(schedule, 0.9);
    };
  }

  /** The DL4J schedule (by epoch) of the spec, or null for a constant rate. */
  static ISchedule schedule(TrainingSpec t) {
    ScheduleSpec s = t.schedule();
    return switch (s.type()) {
      case CONSTANT -> null;
      case STEP -> new StepSchedule(ScheduleType.EPOCH, t.learningRate(), s.decay(), s.every());
      case EXPONENTIAL -> new ExponentialSchedule(ScheduleType.EPOCH, t.learningRate(), s.decay());
      case COSINE -> {
        Map<Integer, Double> values = new TreeMap<>();
        for (int e = 0; e < t.epochs(); e++) {
          values.put(e, t.learningRateAt(e));
        }
        yield new MapSchedule(ScheduleType.EPOCH, values);
      }
    };
  }

  static Activation activation(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "relu" -> Activation.RELU;
      case "leakyrelu" -> Activation.LEAKYRELU;
      case "elu" -> Activation.ELU;
      case "gelu" -> Activation.GELU;
      case "swish" -> Activation.SWISH;
      case "tanh" -> Activation.TANH;
      case "sigmoid" -> Activation.SIGMOID;
      case "identity" -> Activation.IDENTITY;
      default -> throw new InvalidInputException("network.activation: unknown activation " + name);
    };
  }

  private static MultiLayerConfiguration preset(
      EnsembleSpec spec, int numFeatures, long seed, boolean cnn, GaussianNllLoss gaussian) {
    NetworkSpec n = spec.network();
    TrainingSpec t = spec.training();
    Activation act = activation(n.activation());
    boolean reluLike = switch (act) {
      case RELU, LEAKYRELU, ELU, GELU, SWISH -> true;
      default -> false;
    };
    WeightInit init = reluLike ? WeightInit.RELU : WeightInit.XAVIER;
    NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder()
        .seed(seed)
        .dataType(DataType.FLOAT)
        .weightInit(init)
        .updater(updater(t));
    if (t.weightDecay() > 0) {
      b.weightDecay(t.weightDecay(), true);
    }
    NeuralNetConfiguration.ListBuilder list = b.list();
    int layer = 0;
    InputType inputType;
    if (cnn) {
      List<Integer> shape = spec.data().inputShape();
      InvalidInputException.check(
          spec.data().inputSize() == numFeatures,
          "data.inputShape %s holds %d values but the rows have %d features", shape, spec.data().inputSize(),
          numFeatures);
      inputType = InputType.convolutionalFlat(shape.get(1), shape.get(2), shape.get(0));
      for (ConvLayerSpec c : n.conv()) {
        ConvolutionLayer.Builder cb = new ConvolutionLayer.Builder(c.kernel(), c.kernel())
            .stride(c.stride(), c.stride())
            .nOut(c.filters())
            .convolutionMode(ConvolutionMode.Same)
            .activation(act);
        if (layer > 0 && n.dropout() > 0) {
          cb.dropOut(new Dropout(1 - n.dropout()));
        }
        list.layer(cb.build());
        layer++;
        if (n.batchNorm()) {
          list.layer(new BatchNormalization.Builder().build());
          layer++;
        }
        if (c.pool() >= 2) {
          list.layer(new SubsamplingLayer.Builder(PoolingType.MAX)
              .kernelSize(c.pool(), c.pool())
              .stride(c.pool(), c.pool())
              .convolutionMode(ConvolutionMode.Same)
              .build());
          layer++;
        }
      }
    } else {
      inputType = InputType.feedForward(numFeatures);
    }
    for (int h : n.hidden()) {
      DenseLayer.Builder db = new DenseLayer.Builder().nOut(h).activation(act);
      if (layer > 0 && n.dropout() > 0) {
        db.dropOut(new Dropout(1 - n.dropout()));
      }
      list.layer(db.build());
      layer++;
      if (n.batchNorm()) {
        list.layer(new BatchNormalization.Builder().build());
        layer++;
      }
    }
    OutputLayer.Builder ob = spec.task() == Task.CLASSIFICATION
        ? new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).activation(Activation.SOFTMAX)
        : new OutputLayer.Builder(gaussian).activation(Activation.IDENTITY);
    ob.nOut(spec.outputs()).weightInit(WeightInit.XAVIER);
    if (layer > 0 && n.dropout() > 0) {
      ob.dropOut(new Dropout(1 - n.dropout()));
    }
    list.layer(ob.build());
    list.setInputType(inputType);
    return onceEach(list.build());
  }

  /**
   * DL4J 1.0.0-M2.1 puts the builder's global {@code weightDecay} on every layer twice and applies each entry, so
   * a preset would train with twice {@code training.weightDecay}. Keeps one of each identical entry, so the spec's
   * coefficient is the one that acts.
   */
  private static MultiLayerConfiguration onceEach(MultiLayerConfiguration conf) {
    for (NeuralNetConfiguration c : conf.getConfs()) {
      if (c.getLayer() instanceof org.deeplearning4j.nn.conf.layers.BaseLayer b) {
        if (b.getRegularization() != null) {
          b.setRegularization(new java.util.ArrayList<>(new java.util.LinkedHashSet<>(b.getRegularization())));
        }
        if (b.getRegularizationBias() != null) {
          b.setRegularizationBias(
              new java.util.ArrayList<>(new java.util.LinkedHashSet<>(b.getRegularizationBias())));
        }
      }
    }
    return conf;
  }

  /**
   * The user's configuration, told apart by its JSON: a {@code MultiLayerConfiguration} holds a {@code "confs"}
   * list, a {@code ComputationGraphConfiguration} a {@code "vertices"} map.
   */
  private static MemberNetwork userNetwork(EnsembleSpec spec, long seed) {
    String json = spec.network().config();
    if (isGraph(json)) {
      ComputationGraph graph = new ComputationGraph(userGraph(spec, json, seed));
      graph.init();
      return MemberNetwork.of(graph);
    }
    return multiLayer(userLayers(spec, json, seed));
  }

  /** True for a graph configuration's JSON, false for a multilayer one; anything else is refused. */
  private static boolean isGraph(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new InvalidInputException("network.config is not JSON: " + e.getOriginalMessage(), e);
    }
    if (root != null && root.has("vertices")) {
      return true;
    }
    if (root != null && root.has("confs")) {
      return false;
    }
    throw new InvalidInputException("network.config must be a DL4J MultiLayerConfiguration JSON (with a \"confs\""
        + " list) or ComputationGraphConfiguration JSON (with \"vertices\"), as their toJson() writes them;"
        + " found neither key");
  }

  private static MultiLayerConfiguration userLayers(EnsembleSpec spec, String json, long seed) {
    MultiLayerConfiguration conf;
    try {
      conf = MultiLayerConfiguration.fromJson(json);
    } catch (RuntimeException e) {
      throw new InvalidInputException(
          "network.config is not a valid DL4J MultiLayerConfiguration JSON: " + e.getMessage(), e);
    }
    InvalidInputException.check(!conf.getConfs().isEmpty(), "network.config has no layers");
    for (NeuralNetConfiguration c : conf.getConfs()) {
      c.setSeed(seed);
    }
    org.deeplearning4j.nn.conf.layers.Layer last = conf.getConf(conf.getConfs().size() - 1).getLayer();
    InvalidInputException.check(
        last instanceof BaseOutputLayer,
        "network.config: the last layer must be an output layer, found %s", last.getClass().getSimpleName());
    checkHead(spec, (BaseOutputLayer) last);
    conf.setEpochCount(0);
    conf.setIterationCount(0);
    return conf;
  }

  /**
   * A user's graph: exactly one input (the row's feature vector) and one output layer; the seed of the default
   * configuration (which seeds ND4J's RNG when the graph initialises its parameters) and of every layer vertex is
   * replaced by {@code seed}.
   */
  private static ComputationGraphConfiguration userGraph(EnsembleSpec spec, String json, long seed) {
    ComputationGraphConfiguration conf;
    try {
      conf = ComputationGraphConfiguration.fromJson(json);
    } catch (RuntimeException e) {
      throw new InvalidInputException(
          "network.config is not a valid DL4J ComputationGraphConfiguration JSON: " + e.getMessage(), e);
    }
    List<String> inputs = conf.getNetworkInputs();
    List<String> outputs = conf.getNetworkOutputs();
    InvalidInputException.check(inputs.size() == 1,
        "network.config: a ComputationGraph member takes exactly one input, the row's feature vector"
            + " (data.features), found %d inputs %s; give the graph a single input (addInputs) and split it inside"
            + " the graph (e.g. with SubsetVertex) if branches need different features", inputs.size(), inputs);
    InvalidInputException.check(outputs.size() == 1,
        "network.config: a ComputationGraph member gives exactly one output, %s, found %d outputs %s; keep one"
            + " output layer in setOutputs and remove the others", headDescription(spec), outputs.size(), outputs);
    conf.getDefaultConfiguration().setSeed(seed);
    for (org.deeplearning4j.nn.conf.graph.GraphVertex v : conf.getVertices().values()) {
      if (v instanceof LayerVertex lv) {
        lv.getLayerConf().setSeed(seed);
      }
    }
    org.deeplearning4j.nn.conf.graph.GraphVertex out = conf.getVertices().get(outputs.get(0));
    org.deeplearning4j.nn.conf.layers.Layer last = out instanceof LayerVertex lv ? lv.getLayerConf().getLayer() : null;
    InvalidInputException.check(last instanceof BaseOutputLayer,
        "network.config: the graph's output '%s' must be an output layer (e.g. OutputLayer), found %s",
        outputs.get(0), last != null ? last.getClass().getSimpleName()
            : out == null ? "no such vertex" : out.getClass().getSimpleName());
    checkHead(spec, (BaseOutputLayer) last);
    conf.setEpochCount(0);
    conf.setIterationCount(0);
    return conf;
  }

  private static void checkHead(EnsembleSpec spec, BaseOutputLayer last) {
    if (spec.task() == Task.REGRESSION) {
      InvalidInputException.check(
          last.getLossFn() instanceof GaussianNllLoss,
          "network.config: regression members need an output layer with 2 identity outputs and loss %s",
          GaussianNllLoss.class.getName());
    }
  }

  private static String headDescription(EnsembleSpec spec) {
    return spec.task() == Task.CLASSIFICATION
        ? "the " + spec.outputs() + " class probabilities" : "the Gaussian head's mean and raw variance";
  }

  private static void checkShape(MemberNetwork net, EnsembleSpec spec, int numFeatures) {
    long[] shape;
    try {
      INDArray probe = Nd4j.zeros(DataType.FLOAT, 1, numFeatures);
      shape = net.output(probe).shape();
    } catch (RuntimeException e) {
      throw new InvalidInputException(
          "network.config does not accept rows of " + numFeatures + " features: " + e.getMessage(), e);
    }
    InvalidInputException.check(
        shape.length == 2 && shape[1] == spec.outputs(),
        "network.config must give %d outputs per row (%s), found shape %s", spec.outputs(),
        spec.task() == Task.CLASSIFICATION ? "data.classes" : "mean and raw variance",
        java.util.Arrays.toString(shape));
  }

  /** True when the network's output layer is a heteroscedastic Gaussian head (regression). */
  public static boolean isGaussian(MemberNetwork net) {
    return net.gaussianLoss() != null;
  }

  /** The Gaussian loss of a regression network's output layer (with its target standardisation), else null. */
  public static GaussianNllLoss gaussianLoss(MemberNetwork net) {
    return net.gaussianLoss();
  }
}
