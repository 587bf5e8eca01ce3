package io.deepens.jobs.cli;

import java.util.Arrays;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;

/**
 * The console shows deepens' own progress and results; Spark's internals (jobs, stages, broadcasts) stay out of it
 * unless asked for. {@code --verbose}, anywhere on the command line, brings Spark's and Hadoop's INFO messages back;
 * so does a log4j2 file of one's own ({@code DEEPENS_LOG4J}, or {@code -Dlog4j2.configurationFile}).
 */
public final class Verbosity {
  public static final String FLAG = "--verbose";

  private Verbosity() {}

  /** Returns {@code argv} without {@value #FLAG}; when it was there, raises Spark's and Hadoop's loggers to INFO. */
  public static String[] apply(String[] argv) {
    String[] rest = Arrays.stream(argv).filter(a -> !a.equals(FLAG)).toArray(String[]::new);
    if (rest.length != argv.length) {
      Configurator.setLevel("org.apache.spark", Level.INFO);
      Configurator.setLevel("org.apache.hadoop", Level.INFO);
      Configurator.setLevel("org.apache.parquet", Level.INFO);
    }
    return rest;
  }
}
