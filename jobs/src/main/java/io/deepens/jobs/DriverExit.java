package io.deepens.jobs;

import org.apache.spark.SparkUserAppException;

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
 */
final class DriverExit {
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

  /** Ends the driver with {@code code}: exits the JVM, or inside a YARN ApplicationMaster returns / throws. */
  static void exit(int code) throws SparkUserAppException {
    if (insideYarnApplicationMaster()) {
      if (code != ExitCode.OK.code) {
        throw new SparkUserAppException(code);
      }
      return;
    }
    System.exit(code);
  }
}
