package io.deepens.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkUserAppException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a finished driver hands its {@link ExitCode} to whoever started it.
 *
 * <p>Everywhere but one place that is the JVM's exit status: {@code scripts/deepens}, spark-submit in client mode
 * (any master), a standalone cluster's driver wrapper, a Kubernetes driver pod. The exception is YARN's cluster deploy
 * mode: there Spark's ApplicationMaster runs {@code Main.main} in a thread of its own JVM and decides the application's
 * final status itself. A {@code System.exit} from that thread, even {@code System.exit(0)}, pre-empts it and YARN
 * records the application as FAILED ("Shutdown hook called before final status was reported"). So inside a YARN
 * ApplicationMaster the driver returns normally for exit 0 and otherwise throws Spark's
 * {@link SparkUserAppException}, which the ApplicationMaster turns into final status FAILED, the container's exit
 * status N and the diagnostics {@code User application exited with status N} that YARN's client API
 * ({@code yarn application -status}, {@code YarnClient}) shows.
 *
 * <p>The ApplicationMaster reports a final status to YARN only once it registered, which it does when the driver
 * starts its SparkContext. A command that fails before (a bad spec or argument: exit 2) would leave YARN with the
 * ApplicationMaster's own "SparkContext not initialised" exit 13 and no deepens code; in that case a SparkContext
 * without executors is started and stopped first, so that the code reaches YARN like any other failure's.
 */
final class DriverExit {
  private static final Logger LOG = LoggerFactory.getLogger(DriverExit.class);

  private DriverExit() {}

  /**
   * True inside the driver of a YARN cluster-mode application: the ApplicationMaster sets {@code spark.yarn.app.id}
   * (and {@code spark.submit.deployMode=cluster}) as system properties before it starts the user class; spark-submit
   * in client mode sets neither.
   */
  static boolean insideYarnApplicationMaster() {
    return System.getProperty("spark.yarn.app.id") != null
        && "cluster".equals(System.getProperty("spark.submit.deployMode"));
  }

  /**
   * Ends the driver with {@code code}: exits the JVM, or inside a YARN ApplicationMaster returns (0) or throws
   * {@link SparkUserAppException}; {@code sparkStarted} says whether this driver started a SparkContext.
   */
  static void exit(int code, boolean sparkStarted) throws SparkUserAppException {
    if (!insideYarnApplicationMaster()) {
      System.exit(code);
      return;
    }
    if (code == ExitCode.OK.code) {
      return;
    }
    if (!sparkStarted) {
      LOG.info("registering with YARN (a SparkContext without executors) to report exit code {}", code);
      try {
        // no executors and no UI: this context only carries the exit code (and a UI under YARN needs Hadoop's
        // AmIpFilter, hadoop-yarn-server-web-proxy, which scripts/spark-home.sh's distribution does not have)
        SparkContext sc = new SparkContext(new SparkConf()
            .set("spark.executor.instances", "0").set("spark.dynamicAllocation.enabled", "false")
            .setIfMissing("spark.ui.enabled", "false"));
        sc.stop(code);
      } catch (RuntimeException e) {
        LOG.warn("could not register with YARN to report exit code {}: {}", code, e.toString());
      }
    }
    throw new SparkUserAppException(code);
  }
}
