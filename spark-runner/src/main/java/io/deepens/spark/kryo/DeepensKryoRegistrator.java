package io.deepens.spark.kryo;

import com.esotericsoftware.kryo.Kryo;
import java.util.List;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers every class that crosses between driver and executors through Spark's serializer (Kryo), so jobs can
 * run with {@code spark.kryo.registrationRequired=true}: shuffle records of training
 * ({@link io.deepens.spark.train.MemberRowKey}, {@link io.deepens.spark.data.LabeledRow}) and task results
 * (member outcomes and evaluation partials, which reach the driver as arrays). No ND4J array crosses: members
 * travel as files in the store and validation predictions as plain float arrays, so ND4J's own registrator is not
 * needed.
 *
 * <p>Task closures ({@code MemberTask}, {@code FeatureDecoder}, {@code EnsembleScorer}, partitioners and
 * comparators) and accumulators (the table profiles of {@code PartitionProfiles}) are not listed: Spark always
 * serializes closures and the accumulator updates in task results with Java serialization
 * ({@code spark.closure.serializer} is fixed), never with Kryo.
 */
public final class DeepensKryoRegistrator implements KryoRegistrator {

  /** The classes registered, in registration order (a test sends each through Kryo). */
  public static List<Class<?>> registeredClasses() {
    return List.of(
        // training: shuffle records and task results
        io.deepens.spark.data.LabeledRow.class,
        io.deepens.spark.train.MemberRowKey.class,
        io.deepens.spark.train.MemberOutcome.class,
        io.deepens.spark.train.MemberOutcome[].class,
        // evaluation: partial metrics merged with treeReduce
        io.deepens.spark.evaluate.EvaluationPartial.class,
        io.deepens.spark.evaluate.EvaluationPartial[].class,
        forName("io.deepens.spark.evaluate.EvaluationPartial$ScoreLists"),
        io.deepens.core.metrics.ClassificationMetrics.class,
        io.deepens.core.metrics.ClassificationMetrics[].class,
        io.deepens.core.metrics.Histogram.class,
        io.deepens.core.metrics.BinnedRoc.class,
        io.deepens.core.metrics.BinnedRoc[].class,
        // plain arrays inside the above
        float[].class,
        float[][].class,
        double[].class,
        double[][].class,
        int[].class,
        long[].class,
        String[].class);
  }

  private static Class<?> forName(String name) {
    try {
      return Class.forName(name, false, DeepensKryoRegistrator.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("registered class " + name + " is missing", e);
    }
  }

  @Override
  public void registerClasses(Kryo kryo) {
    for (Class<?> c : registeredClasses()) {
      kryo.register(c);
    }
  }
}
