package io.deepens.jobs.commands;

import io.deepens.core.InvalidInputException;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.cli.EnsembleRef;
import io.deepens.jobs.cli.Tables;
import io.deepens.spark.SparkSessions;
import io.deepens.spark.score.EnsembleScorer;
import io.deepens.spark.score.InvalidPolicy;
import io.deepens.spark.score.InvalidRows;
import io.deepens.spark.score.OutputCommit;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code score}: applies a published ensemble to a table and writes it with the uncertainty columns appended. */
public final class ScoreCommand implements Command {
  private static final Logger LOG = LoggerFactory.getLogger(ScoreCommand.class);

  @Override
  public String name() {
    return "score";
  }

  @Override
  public String summary() {
    return "score a table with a published ensemble: predictive distribution and uncertainty per row";
  }

  @Override
  public String usage() {
    return """
        usage: deepens score --ensemble STORE[#VERSION] --input URI --output URI [options]

          --ensemble STORE[#V]   store and version (default: the version LATEST names, resolved once at start)
          --input URI            table to score (Parquet by default; any Spark source via --format)
          --output URI           where to write the scored table: written to a hidden sibling folder first and
                                 moved to URI only when complete, so a failed or killed job leaves nothing there
          --invalid P            fail (default: stop at the first bad row, naming it), skip (drop and count),
                                 keep (null outputs and an invalid_reason column)
          --max-invalid L        with skip or keep: fail (exit 2, nothing written) when more rows are invalid
                                 than L, a fraction of the rows read (0.1, the default; 1.0 never fails) or a
                                 count (100; 0 fails on the first)
          --format F             format of --input; default from the extension, else parquet
          --output-format F      format of --output (default parquet)
          --partition-by C,...   partition the output by these columns
          --mode M               error (default: refuse an existing output) or overwrite (the new output replaces
                                 the old one only once it is complete)
          --batch-size N         rows per forward pass (default 2048)
          --features C,...       feature column(s) if they differ from the spec's
          --keep C,...           write only these input columns (e.g. the key) beside the outputs; by default every
                                 input column is kept. Leaving a wide feature column out of the output is the
                                 biggest saving in a scoring job (see scripts/bench/README.md)
          --master URL           Spark master (default: spark-submit's, else local[*])
          --conf K=V             extra Spark configuration (repeatable)""";
  }

  @Override
  public Set<String> options() {
    return Set.of("ensemble", "input", "output", "invalid", "max-invalid", "format", "output-format", "partition-by",
        "mode", "batch-size", "features", "keep", "master", "conf");
  }

  @Override
  public ExitCode run(Args a) {
    EnsembleRef ref = EnsembleRef.parse(a.require("ensemble"));
    String input = a.require("input");
    String output = a.require("output");
    InvalidPolicy policy = InvalidPolicy.parse(a.get("invalid", "fail"));
    String mode = a.get("mode", "error");
    InvalidInputException.check(mode.equals("error") || mode.equals("overwrite"),
        "score: --mode must be error or overwrite, found '%s'", mode);
    InvalidInputException.check(a.get("max-invalid") == null || policy != InvalidPolicy.FAIL,
        "score: --max-invalid applies to --invalid skip or keep; with --invalid fail the first invalid row stops "
        + "the job");
    MaxInvalid limit = MaxInvalid.parse(a.get("max-invalid", MaxInvalid.DEFAULT));
    int batch = a.getInt("batch-size") == null ? EnsembleScorer.DEFAULT_BATCH : a.getInt("batch-size");
    List<String> features = a.get("features") == null ? null : List.of(a.get("features").split(","));
    SparkSession spark = SparkSessions.getOrCreate(a.get("master"), "deepens score", a.confs());
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, ref.store(), ref.version());
    LOG.info("scoring with {} version {}", ref.store(), scorer.manifest().version());
    OutputCommit commit = OutputCommit.begin(spark.sparkContext().hadoopConfiguration(), output,
        mode.equals("overwrite"), spark.conf().get(OutputCommit.FAULT_HOOK, ""));
    Dataset<Row> in = Tables.read(spark, input, a.get("format"));
    // counts every row read and every invalid one by reason (skipped or kept): what --max-invalid and the outcome use
    InvalidRows invalid = InvalidRows.register(spark.sparkContext(), "deepens.invalidRows");
    Dataset<Row> out = scorer.score(spark, in, features, null, policy, batch, null, invalid);
    if (a.get("keep") != null) {
      List<String> keep = new java.util.ArrayList<>(List.of(a.get("keep").split(",")));
      for (String c : keep) {
        InvalidInputException.check(List.of(in.columns()).contains(c),
            "score: --keep names column '%s', which the input does not have; its columns are %s", c,
            List.of(in.columns()));
      }
      for (String c : out.columns()) {
        if (!List.of(in.columns()).contains(c)) {
          keep.add(c);
        }
      }
      out = out.select(keep.stream().map(org.apache.spark.sql.functions::col)
          .toArray(org.apache.spark.sql.Column[]::new));
    }
    DataFrameWriter<Row> w = out.write().format(a.get("output-format", "parquet")).mode("errorifexists");
    if (a.get("partition-by") != null) {
      w = w.partitionBy(a.get("partition-by").split(","));
    }
    try {
      w.save(commit.staging());
      if (invalid.invalid() > 0) {
        LOG.warn("{} of {} rows are invalid ({} with --invalid {}); the most common reasons: {}", invalid.invalid(),
            invalid.rows(), policy == InvalidPolicy.SKIP ? "skipped" : "kept with null outputs", a.get("invalid"),
            String.join("; ", invalid.mostCommon(5)));
      }
      if (limit.exceededBy(invalid.rows(), invalid.invalid())) {
        throw new InvalidInputException(String.format(java.util.Locale.ROOT,
            "score: %d of %d rows are invalid (%.1f%%), more than --max-invalid %s allows; nothing was written to "
                + "%s%s. Most common reasons: %s. Fix the input (or name the right columns with --features), or "
                + "raise --max-invalid", invalid.invalid(), invalid.rows(), 100.0 * invalid.invalid()
                / Math.max(1, invalid.rows()), limit, output, mode.equals("overwrite") ? " (its previous content "
                + "is unchanged)" : "", String.join("; ", invalid.mostCommon(3))));
      }
    } catch (Throwable e) { // SparkException too: Scala's checked exceptions are not declared
      commit.abort();
      throw e;
    }
    commit.commit();
    long rows = spark.read().format(a.get("output-format", "parquet")).load(output).count();
    String invalidNote = "";
    if (invalid.invalid() > 0) {
      invalidNote = policy == InvalidPolicy.SKIP ? " (" + invalid.invalid() + " invalid rows skipped)"
          : " (" + invalid.invalid() + " invalid rows kept with null outputs, reason in invalid_reason)";
    }
    Outcome.set("scored {} rows with version {}, wrote {}{}", rows, scorer.manifest().version(), output,
        invalidNote);
    System.out.println("scored " + rows + " rows -> " + output);
    return ExitCode.OK;
  }

  /**
   * The limit of {@code --max-invalid}: a fraction of the rows read (a number with a decimal point, 0 to 1, or a
   * percentage such as {@code 5%}) or a count (a whole number).
   */
  record MaxInvalid(String text, double fraction, long count) {
    /**
     * The default, 10% of the rows read: a table scored with the wrong ensemble or the wrong feature columns has
     * (nearly) every row invalid and fails, while the occasional bad reading a user asked to skip passes.
     */
    static final String DEFAULT = "0.1";

    static MaxInvalid parse(String s) {
      String t = s.trim();
      try {
        if (t.matches("\\d+")) {
          return new MaxInvalid(t, -1, Long.parseLong(t));
        }
        double f = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1)) / 100
            : t.matches("\\d*\\.\\d*") ? Double.parseDouble(t) : Double.NaN;
        if (f >= 0 && f <= 1) {
          return new MaxInvalid(t, f, -1);
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new InvalidInputException("score: --max-invalid must be a fraction of the rows (0.1, or 10%, between "
          + "0 and 1) or a count of rows (100), found '" + s + "'");
    }

    boolean exceededBy(long rows, long invalid) {
      return count >= 0 ? invalid > count : invalid > fraction * rows;
    }

    @Override
    public String toString() {
      return text + (count >= 0 ? " (rows)" : " (of the rows read)");
    }
  }
}
