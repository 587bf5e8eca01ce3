package io.deepens.jobs.cli;

import io.deepens.core.InvalidInputException;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads {@code train --config}: a local spec file through {@link SpecLoader#load}, or a spec on any Hadoop file
 * system ({@code --config hdfs:///specs/digits.yaml}), which is what a driver in a YARN container (cluster deploy
 * mode) can reach. A spec read from a URI has no local folder: a {@code network.configPath} in it is resolved against
 * the driver's working directory (ship the file with {@code --files}) or the network goes inline as
 * {@code network.config}.
 */
public final class SpecFiles {
  /** Specs are a few kilobytes; a larger file is not a spec. */
  static final long MAX_BYTES = 1 << 20;

  private SpecFiles() {}

  public static EnsembleSpec load(String location, Configuration conf) {
    if (Locations.isLocal(location)) {
      return SpecLoader.load(Locations.localPath(location));
    }
    Path p = new Path(location);
    String text;
    try {
      FileSystem fs = p.getFileSystem(conf);
      long length = fs.getFileStatus(p).getLen();
      InvalidInputException.check(length <= MAX_BYTES, "spec file %s has %d bytes, more than a spec's %d: is it the "
          + "right file?", location, length, MAX_BYTES);
      try (InputStream in = fs.open(p)) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (FileNotFoundException e) {
      throw new InvalidInputException("cannot read spec file " + location + ": no such file", e);
    } catch (IOException e) {
      throw new InvalidInputException("cannot read spec file " + location + ": " + e, e);
    }
    return SpecLoader.parse(text, location);
  }
}
