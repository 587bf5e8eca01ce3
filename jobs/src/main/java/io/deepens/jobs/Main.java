package io.deepens.jobs;

import io.deepens.core.DeepensException;
import io.deepens.core.InvalidInputException;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.commands.EvaluateCommand;
import io.deepens.jobs.commands.GcCommand;
import io.deepens.jobs.commands.ImportCommand;
import io.deepens.jobs.commands.InspectCommand;
import io.deepens.jobs.commands.ScoreCommand;
import io.deepens.jobs.commands.TrainCommand;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code deepens <command> [options]}: the entry point for the local launcher and for spark-submit. Failures end
 * with one line naming the problem and an exit code from {@link ExitCode}; no stack trace for bad input.
 */
public final class Main {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  /** Whether {@link #run} started (and stopped) a SparkSession: {@link DriverExit} needs to know under YARN. */
  private static volatile boolean sparkStarted;

  private Main() {}

  public static Map<String, Command> commands() {
    Map<String, Command> m = new LinkedHashMap<>();
    for (Command c : List.of(new TrainCommand(), new ScoreCommand(), new EvaluateCommand(), new InspectCommand(),
        new ImportCommand(), new GcCommand())) {
      m.put(c.name(), c);
    }
    return m;
  }

  public static void main(String[] argv) throws org.apache.spark.SparkUserAppException {
    int code = run(io.deepens.jobs.cli.Verbosity.apply(argv), System.out, System.err);
    DriverExit.exit(code, sparkStarted); // System.exit, except inside a YARN ApplicationMaster (cluster deploy mode)
  }

  /**
   * Runs one command, or several separated by a lone {@code +} in one JVM and one SparkSession (what
   * {@code scripts/quickstart.sh} does to save start-up time); stops at the first failure and returns its exit
   * code. Never exits the JVM (tests call this).
   */
  public static int run(String[] argv, PrintStream out, PrintStream err) {
    List<String[]> pipeline = new java.util.ArrayList<>();
    int from = 0;
    for (int i = 0; i <= argv.length; i++) {
      if (i == argv.length || argv[i].equals("+")) {
        pipeline.add(java.util.Arrays.copyOfRange(argv, from, i));
        from = i + 1;
      }
    }
    List<String> outcomes = new java.util.ArrayList<>();
    int code = ExitCode.OK.code;
    try {
      for (String[] step : pipeline) {
        code = runOne(step, out, err, outcomes);
        if (code != ExitCode.OK.code) {
          break;
        }
      }
      return code;
    } finally {
      // stop(code): on YARN in client mode the ApplicationMaster reports this code, so a failed command shows as
      // final status FAILED, not SUCCEEDED, in YARN's client API
      int stopCode = code;
      org.apache.spark.sql.SparkSession.getDefaultSession().foreach(s -> {
        sparkStarted = true;
        s.sparkContext().stop(stopCode);
        return null;
      });
      // after Spark's shutdown logging, so that the last log line is the outcome
      outcomes.forEach(o -> LOG.info("outcome: {}", o));
    }
  }

  private static int runOne(String[] argv, PrintStream out, PrintStream err, List<String> outcomes) {
    Map<String, Command> commands = commands();
    if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h") || argv[0].equals("help")) {
      out.println(help(commands));
      return argv.length == 0 ? ExitCode.USAGE.code : ExitCode.OK.code;
    }
    Command c = commands.get(argv[0]);
    if (c == null) {
      err.println("deepens: unknown command '" + argv[0] + "'; commands are " + String.join(", ", commands.keySet())
          + " (run 'deepens --help')");
      return ExitCode.USAGE.code;
    }
    for (int i = 1; i < argv.length; i++) {
      if (argv[i].equals("--help") || argv[i].equals("-h")) {
        out.println(c.usage());
        return ExitCode.OK.code;
      }
    }
    Outcome.take();
    try {
      Args args = Args.parse(c.name(), argv, 1, c.options(), c.flags());
      ExitCode result = c.run(args);
      String outcome = Outcome.take();
      outcomes.add(oneLine(outcome != null ? outcome : c.name() + " finished") + " (exit " + result.code + ")");
      return result.code;
    } catch (Throwable t) {
      Outcome.take();
      Failure f = classify(t);
      String message = f.message == null ? "" : f.message;
      String line = oneLine(message);
      if (f.code == ExitCode.INTERNAL || f.code == ExitCode.INFRASTRUCTURE) {
        LOG.error("deepens {} failed", c.name(), t);
      }
      if (!line.equals(message)) {
        LOG.error("deepens {} failed: {}", c.name(), message); // the whole message (a parser's excerpt and caret)
      }
      err.println("deepens " + c.name() + ": " + line);
      outcomes.add(c.name() + " failed: " + line + " (exit " + f.code.code + ")");
      return f.code.code;
    }
  }

  /** Longest message the outcome line carries; a longer one is cut there and logged whole above it. */
  static final int MAX_OUTCOME_MESSAGE = 600;

  /**
   * A message as one line for the outcome: line breaks and the indentation around them become one space, lines
   * holding only a parser's caret ({@code ^}) are dropped, and a message longer than
   * {@value #MAX_OUTCOME_MESSAGE} characters is cut with a pointer to the log, where it is written whole.
   */
  static String oneLine(String message) {
    StringBuilder sb = new StringBuilder();
    for (String l : message.split("\\R")) {
      String t = l.strip();
      if (t.isEmpty() || t.chars().allMatch(ch -> ch == '^')) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append(' ');
      }
      sb.append(t.replace('\t', ' '));
    }
    if (sb.length() > MAX_OUTCOME_MESSAGE) {
      return sb.substring(0, MAX_OUTCOME_MESSAGE) + "… (the whole message is in the log above)";
    }
    return sb.toString();
  }

  record Failure(ExitCode code, String message) {}

  /**
   * Finds what a user should read in an exception: our own exceptions anywhere in the cause chain, including those
   * thrown in a Spark task and reported back as text in a SparkException.
   */
  static Failure classify(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof io.deepens.core.store.RunLock.HeldException) {
        return new Failure(ExitCode.BUSY, c.getMessage());
      }
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof InvalidInputException) {
        return new Failure(ExitCode.USAGE, c.getMessage());
      }
    }
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("io\\.deepens\\.core\\.(?:InvalidInputException|store\\.DamagedStoreException): ([^\\n]+)")
        .matcher(String.valueOf(messages(t)));
    if (m.find()) {
      return new Failure(ExitCode.USAGE, m.group(1));
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof DeepensException) {
        return new Failure(ExitCode.INFRASTRUCTURE, c.getMessage());
      }
    }
    m = java.util.regex.Pattern.compile("io\\.deepens\\.core\\.DeepensException: ([^\\n]+)")
        .matcher(String.valueOf(messages(t)));
    if (m.find()) {
      return new Failure(ExitCode.INFRASTRUCTURE, m.group(1));
    }
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.io.IOException || c instanceof org.apache.spark.SparkException) {
        return new Failure(ExitCode.INFRASTRUCTURE, c.getClass().getSimpleName() + ": " + firstLine(c.getMessage()));
      }
    }
    return new Failure(ExitCode.INTERNAL, "internal error (" + t + "); this is a bug, please report it with the log");
  }

  private static String messages(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c.getMessage()).append('\n');
    }
    return sb.toString();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  static String help(Map<String, Command> commands) {
    StringBuilder sb = new StringBuilder();
    sb.append("deepens: distributed deep ensembles on Apache Spark\n\n");
    sb.append("usage: deepens <command> [options]      (scripts/deepens locally, or spark-submit --class ")
        .append(Main.class.getName()).append(" deepens-jobs-*-all.jar <command> ...)\n\ncommands:\n");
    commands.values().forEach(c -> sb.append(String.format("  %-9s %s%n", c.name(), c.summary())));
    sb.append("\n'deepens <command> --help' shows a command's options. --verbose (any command) adds Spark's own "
        + "messages (jobs, stages, tasks) to the console.\n");
    sb.append("exit codes: 0 done, 1 internal error, 2 usage or bad input, a damaged store or too many invalid rows"
        + " (retrying will not help), 3 infrastructure failure (retry), 4 nothing"
        + " to do (gc removed nothing; a rerun of a published train run id exits 0), 5 busy (another process holds"
        + " the run id)");
    return sb.toString();
  }
}
