package io.deepens.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.metrics.BinnedRoc;
import io.deepens.core.metrics.ClassificationMetrics;
import io.deepens.core.metrics.Histogram;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.SparkTestSupport;
import io.deepens.spark.data.LabeledRow;
import io.deepens.spark.evaluate.EvaluationPartial;
import io.deepens.spark.evaluate.SparkEvaluator;
import io.deepens.spark.kryo.DeepensKryoRegistrator;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.train.MemberOutcome;
import io.deepens.spark.train.MemberRowKey;
import io.deepens.spark.train.SparkEnsembleTrainer;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.reflect.ClassTag$;

/**
 * Kryo with {@code spark.kryo.registrationRequired=true}: every class of {@link DeepensKryoRegistrator} makes a
 * round trip with its contents intact, and a train, score and evaluate run in {@code local[2]} shows that nothing
 * unregistered crosses between driver and executors.
 */
class KryoRegistrationTest {

  static SerializerInstance kryo() {
    SparkConf conf = SparkSessions.configureKryo(new SparkConf(false))
        .set("spark.kryo.registrationRequired", "true");
    return new KryoSerializer(conf).newInstance();
  }

  @SuppressWarnings("unchecked")
  static <T> T roundTrip(SerializerInstance ser, T value) {
    ByteBuffer bytes = ser.serialize(value, ClassTag$.MODULE$.apply(Object.class));
    return (T) ser.deserialize(bytes, ClassTag$.MODULE$.apply(Object.class));
  }

  /** One non-trivial sample per registered class. */
  static Map<Class<?>, Object> samples() throws Exception {
    Map<Class<?>, Object> s = new LinkedHashMap<>();
    s.put(LabeledRow.class, new LabeledRow(42L, new float[] {0.25f, -1f, 3f}, 2f));
    s.put(MemberRowKey.class, new MemberRowKey(1, true, -7L, 42L));
    MemberOutcome o = new MemberOutcome();
    o.member = 1;
    o.status = "OK";
    o.reportJson = "{\"a\":1}";
    o.modelPath = "file:/tmp/store/checkpoints/r/m-001/final.zip";
    o.modelSha256 = "ab".repeat(32);
    o.trainRows = 100;
    o.validationKeys = new long[] {3, 1, 2};
    o.validationLabels = new float[] {0, 1, 2};
    o.validationOutputs = new float[] {0.5f, 0.5f, 0.1f, 0.9f, 1f, 0f};
    o.outputs = 2;
    o.executorId = "3";
    o.host = "localhost";
    o.attempt = 1;
    o.gpuAddresses = new String[] {"0", "1"};
    o.threads = 2;
    s.put(MemberOutcome.class, o);
    s.put(MemberOutcome[].class, new MemberOutcome[] {o, new MemberOutcome()});
    Constructor<EvaluationPartial> ec = EvaluationPartial.class.getDeclaredConstructor(int.class, int.class,
        boolean.class, long.class);
    ec.setAccessible(true);
    EvaluationPartial e = ec.newInstance(3, 2, true, 100L); // with the members' own MI lists (MC passes)
    Field ens = EvaluationPartial.class.getDeclaredField("ensemble");
    ens.setAccessible(true);
    ((ClassificationMetrics) ens.get(e)).addRow(new double[] {0.2, 0.7, 0.1}, 0, 1);
    s.put(EvaluationPartial.class, e);
    s.put(EvaluationPartial[].class, new EvaluationPartial[] {e});
    Class<?> scoreLists = Class.forName("io.deepens.spark.evaluate.EvaluationPartial$ScoreLists");
    Constructor<?> sc = scoreLists.getDeclaredConstructor(int.class, long.class);
    sc.setAccessible(true);
    Object lists = sc.newInstance(2, 50L);
    var add = scoreLists.getDeclaredMethod("add", int.class, double.class);
    add.setAccessible(true);
    add.invoke(lists, 1, 0.75);
    s.put(scoreLists, lists);
    ClassificationMetrics cm = new ClassificationMetrics(3);
    cm.addRow(new double[] {0.1, 0.1, 0.8}, 0, 2);
    s.put(ClassificationMetrics.class, cm);
    s.put(ClassificationMetrics[].class, new ClassificationMetrics[] {cm, new ClassificationMetrics(2)});
    Histogram h = new Histogram(0, 1, 5);
    h.add(0.3);
    s.put(Histogram.class, h);
    BinnedRoc roc = new BinnedRoc(0, 2, 8);
    roc.addPositive(1.5);
    roc.addNegative(0.1);
    s.put(BinnedRoc.class, roc);
    s.put(BinnedRoc[].class, new BinnedRoc[] {roc});
    s.put(float[].class, new float[] {1.5f, Float.NaN, -0f});
    s.put(float[][].class, new float[][] {{1f}, {2f, 3f}});
    s.put(double[].class, new double[] {Math.PI, -1e300});
    s.put(double[][].class, new double[][] {{1.0}, {}});
    s.put(int[].class, new int[] {Integer.MIN_VALUE, 7});
    s.put(long[].class, new long[] {Long.MAX_VALUE, -3});
    s.put(String[].class, new String[] {"a", null, "ü"});
    return s;
  }

  @Test
  void everyRegisteredClassMakesAKryoRoundTripWithRegistrationRequired() throws Exception {
    Map<Class<?>, Object> samples = samples();
    List<Class<?>> registered = DeepensKryoRegistrator.registeredClasses();
    assertEquals(registered.size(), new HashSet<>(registered).size(), "a class is registered twice");
    assertEquals(new HashSet<>(registered), samples.keySet(),
        "every registered class needs a sample here (and every sample a registration)");
    SerializerInstance ser = kryo();
    for (Class<?> c : registered) {
      Object value = samples.get(c);
      assertEquals(c, value.getClass());
      Object back = roundTrip(ser, value);
      assertDeepEquals(value, back, c.getName());
    }
  }

  @Test
  void anUnregisteredClassIsRefused() {
    // the control: proves registration really is required in the serializer the round trip test uses
    record NotRegistered(int x) {}
    Exception e = assertThrows(Exception.class, () -> roundTrip(kryo(), new NotRegistered(1)));
    assertTrue(String.valueOf(e.getMessage()).contains("Class is not registered"), e.getMessage());
  }

  @Test
  void trainScoreAndEvaluateInLocalModeWithRegistrationRequired(@TempDir Path dir) {
    ClusterTestSupport.stopActive();
    SparkSession spark = SparkSessions.getOrCreate("local[2]", "deepens-kryo-test",
        Map.of("spark.kryo.registrationRequired", "true", "spark.sql.shuffle.partitions", "4"));
    try {
      assertEquals("true", spark.sparkContext().getConf().get("spark.kryo.registrationRequired"));
      assertEquals(KryoSerializer.class.getName(), spark.sparkContext().getConf().get("spark.serializer"));
      SparkEnsembleTrainer.Result r =
          ClusterTestSupport.train(spark, SparkTestSupport.smallSpec(2, 2), dir.resolve("store"), "kryo");
      assertEquals(2, r.manifest().usableMembers().size());
      EnsembleScorer scorer = EnsembleScorer.resolve(spark, dir.resolve("store").toString(), null);
      Dataset<Row> test = SparkTestSupport.digits(spark, 0, 7, 5, 4);
      long scored = scorer.score(spark, test, null, null, InvalidPolicy.FAIL, 64, null)
          .select("prediction").collectAsList().size();
      assertEquals(test.count(), scored);
      SparkEvaluator.Evaluation ev = new SparkEvaluator(scorer, 64)
          .evaluate(test, SparkTestSupport.digits(spark, 8, 9, 0));
      assertEquals(test.count(), ev.testRows());
      assertTrue(ev.oodRows() > 0);
    } finally {
      spark.stop();
    }
  }

  /** Field-by-field comparison of deepens objects (they do not define equals), arrays element by element. */
  static void assertDeepEquals(Object a, Object b, String path) throws IllegalAccessException {
    if (a == null) {
      assertNull(b, path);
      return;
    }
    assertNotNull(b, path);
    assertEquals(a.getClass(), b.getClass(), path);
    if (a.getClass().isArray()) {
      assertEquals(Array.getLength(a), Array.getLength(b), path + ".length");
      for (int i = 0; i < Array.getLength(a); i++) {
        assertDeepEquals(Array.get(a, i), Array.get(b, i), path + "[" + i + "]");
      }
    } else if (a.getClass().getName().startsWith("io.deepens.")) {
      for (Class<?> c = a.getClass(); c != Object.class; c = c.getSuperclass()) {
        for (Field f : c.getDeclaredFields()) {
          if (Modifier.isStatic(f.getModifiers())) {
            continue;
          }
          f.setAccessible(true);
          assertDeepEquals(f.get(a), f.get(b), path + "." + f.getName());
        }
      }
    } else if (a instanceof Map<?, ?> || a instanceof Collection<?>) {
      assertEquals(a, b, path);
      assertEquals(a.toString(), b.toString(), path + " (order)");
    } else {
      assertEquals(a, b, path); // boxed primitives: Float/Double equals compares bits, so NaN and -0 count
    }
  }
}
