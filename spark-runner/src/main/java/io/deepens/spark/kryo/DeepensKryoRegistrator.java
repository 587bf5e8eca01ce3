package io.deepens.spark.kryo;

import com.esotericsoftware.kryo.Kryo;
import java.util.List;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Registers every deepens class that crosses between driver and executors, so jobs can run with
 * {@code spark.kryo.registrationRequired=true}. No ND4J array crosses: members travel as files in the store and
 * validation predictions as plain float arrays, so ND4J's own registrator is not needed.
 */
public final class DeepensKryoRegistrator implements KryoRegistrator {

  /** The classes registered, in registration order (a test sends each through Kryo). */
  public static List<Class<?>> registeredClasses() {
    return List.of(
        io.deepens.spark.data.LabeledRow.class,
        io.deepens.spark.data.FeatureDecoder.class,
        io.deepens.spark.data.TableProfile.class,
        io.deepens.spark.train.MemberRowKey.class,
        io.deepens.spark.train.MemberOutcome.class,
        io.deepens.spark.train.MemberTask.class,
        float[].class,
        float[][].class,
        double[].class,
        int[].class,
        long[].class,
        String[].class);
  }

  @Override
  public void registerClasses(Kryo kryo) {
    for (Class<?> c : registeredClasses()) {
      kryo.register(c);
    }
  }
}
