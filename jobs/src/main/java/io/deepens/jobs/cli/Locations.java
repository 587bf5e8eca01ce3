package io.deepens.jobs.cli;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;

/**
 * Where a file named on the command line lives: a local path ({@code conf/x.yaml}, {@code /tmp/report},
 * {@code file:///tmp/report}) or a URI of another Hadoop file system ({@code hdfs://nn:8020/x}, {@code s3a://b/x}).
 * On a cluster the driver may run in a container on any host (YARN cluster mode), so files it reads or writes for
 * the user go through Hadoop's FileSystem when they are not local.
 */
public final class Locations {
  /** A URI scheme (RFC 3986) of two or more letters followed by ':', so that a Windows drive is not one. */
  private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:");

  private Locations() {}

  /** True for a path on this machine: no scheme, or {@code file:}. */
  public static boolean isLocal(String location) {
    return !SCHEME.matcher(location).find() || location.regionMatches(true, 0, "file:", 0, 5);
  }

  /** The local path of a location {@link #isLocal} accepts. */
  public static Path localPath(String location) {
    return location.regionMatches(true, 0, "file:", 0, 5) ? Path.of(URI.create(location)) : Path.of(location);
  }

  /**
   * The Hadoop configuration of the driver before (or without) a SparkSession: the cluster's {@code core-site.xml}
   * and {@code hdfs-site.xml} from the class path ({@code HADOOP_CONF_DIR} under spark-submit), plus the
   * {@code spark.hadoop.*} settings spark-submit passed as system properties, as Spark's own configuration does.
   */
  public static Configuration driverHadoopConfiguration() {
    Configuration conf = new Configuration();
    for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
      String k = String.valueOf(e.getKey());
      if (k.startsWith("spark.hadoop.")) {
        conf.set(k.substring("spark.hadoop.".length()), String.valueOf(e.getValue()));
      }
    }
    return conf;
  }
}
