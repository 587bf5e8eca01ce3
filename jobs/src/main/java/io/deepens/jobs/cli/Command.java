package io.deepens.jobs.cli;

import io.deepens.jobs.ExitCode;
import java.util.Set;

/** One sub-command of the command line. */
public interface Command {
  String name();

  /** One line for the command list. */
  String summary();

  /** The full help text: synopsis, options, an example. */
  String usage();

  Set<String> options();

  default Set<String> flags() {
    return Set.of();
  }

  ExitCode run(Args args) throws Exception;
}
