package io.deepens.spark;

import io.deepens.spark.kryo.DeepensKryoRegistrator;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * Builds the SparkSession every deepens job runs in. Under {@code spark-submit} the master and the rest of the
 * configuration come from the submit command (system properties); locally the master defaults to
 * {@code local[*]}. deepens always runs with Kryo and its registrator.
 */
public final class SparkSessions {
  private static final String LOOPBACK = java.net.InetAddress.getLoopbackAddress().getHostAddress();

  private SparkSessions() {}

  /**
   * @param master a master URL, or null to keep the one spark-submit set (or {@code local[*]} when none is)
   * @param appName the application name shown in Spark's UI
   * @param extra configuration to set unless the user already set it
   */
  public static SparkSession getOrCreate(String master, String appName, Map<String, String> extra) {
    // loads spark.* system properties, as spark-submit passes them
    return SparkSession.builder().config(configure(new SparkConf(true), master, appName, extra)).getOrCreate();
  }

  /** The configuration {@link #getOrCreate} starts a session with: {@code conf} completed in place and returned. */
  static SparkConf configure(SparkConf conf, String master, String appName, Map<String, String> extra) {
    if (master != null) {
      conf.setMaster(master);
    } else if (!conf.contains("spark.master")) {
      conf.setMaster("local[*]");
    }
    if (!conf.contains("spark.app.name")) {
      conf.setAppName(appName);
    }
    extra.forEach(conf::setIfMissing); // the command's settings (e.g. --conf) win over deepens' defaults below
    configureKryo(conf);
    conf.setIfMissing("spark.sql.shuffle.partitions", "8");
    if (isSingleHostMaster(conf.get("spark.master"))) {
      // Every process is on this machine: loopback keeps a laptop with a changing or firewalled network address
      // working. On any cluster master Spark resolves the driver's address itself (SPARK_LOCAL_IP, else this
      // host's first non-loopback address), which is what executors on other hosts must be able to reach.
      conf.setIfMissing("spark.driver.host", LOOPBACK);
      conf.setIfMissing("spark.driver.bindAddress", LOOPBACK);
      // a laptop run needs no web UI on port 4040; on a cluster it is how users follow the job (YARN's tracking URL
      // and the standalone master link to it), so Spark's default (on) stands there
      conf.setIfMissing("spark.ui.enabled", "false");
    }
    return conf;
  }

  /** Kryo with deepens' registrator, added to any registrators already configured. */
  public static SparkConf configureKryo(SparkConf conf) {
    conf.set("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    String registrators = conf.get("spark.kryo.registrator", "");
    if (!registrators.contains(DeepensKryoRegistrator.class.getName())) {
      conf.set("spark.kryo.registrator",
          registrators.isEmpty()
              ? DeepensKryoRegistrator.class.getName()
              : registrators + "," + DeepensKryoRegistrator.class.getName());
    }
    return conf;
  }

  /**
   * True for masters whose driver and executors all run on this machine: {@code local}, {@code local[...]} and
   * {@code local-cluster[...]}. Only there may deepens pin the driver to loopback.
   */
  public static boolean isSingleHostMaster(String master) {
    return isLocalMaster(master) || (master != null && master.startsWith("local-cluster["));
  }

  /** True for {@code local}, {@code local[N]} and {@code local[N,F]} masters, where Spark schedules no GPUs. */
  public static boolean isLocalMaster(String master) {
    return master != null && (master.equals("local") || master.startsWith("local["));
  }
}
