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
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.DataFrameWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;
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
          --output URI           where to write the scored table (written through Spark's committer)
          --invalid P            fail (default: stop at the first bad row, naming it), skip (drop and count),
                                 keep (null outputs and an invalid_reason column)
          --format F             format of --input; default from the extension, else parquet
          --output-format F      format of --output (default parquet)
          --partition-by C,...   partition the output by these columns
          --mode M               error (default: refuse an existing output) or overwrite
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
    return Set.of("ensemble", "input", "output", "invalid", "format", "output-format", "partition-by", "mode",
        "batch-size", "features", "keep", "master", "conf");
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
    int batch = a.getInt("batch-size") == null ? EnsembleScorer.DEFAULT_BATCH : a.getInt("batch-size");
    List<String> features = a.get("features") == null ? null : List.of(a.get("features").split(","));
    SparkSession spark = SparkSessions.getOrCreate(a.get("master"), "deepens score", a.confs());
    EnsembleScorer scorer = EnsembleScorer.resolve(spark, ref.store(), ref.version());
    LOG.info("scoring with {} version {}", ref.store(), scorer.manifest().version());
    if (mode.equals("error")) {
      org.apache.hadoop.fs.Path op = new org.apache.hadoop.fs.Path(output);
      try {
        InvalidInputException.check(!op.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(op),
            "score: output %s exists already; pass --mode overwrite to replace it", output);
      } catch (java.io.IOException e) {
        throw new io.deepens.core.DeepensException("cannot check output " + output + ": " + e.getMessage(), e);
      }
    }
    Dataset<Row> in = Tables.read(spark, input, a.get("format"));
    LongAccumulator skipped = spark.sparkContext().longAccumulator("deepens.skippedRows");
    Dataset<Row> out = scorer.score(spark, in, features, null, policy, batch, skipped);
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
    DataFrameWriter<Row> w = out.write().format(a.get("output-format", "parquet")).mode(mode);
    if (a.get("partition-by") != null) {
      w = w.partitionBy(a.get("partition-by").split(","));
    }
    w.save(output);
    long rows = spark.read().format(a.get("output-format", "parquet")).load(output).count();
    if (skipped.value() > 0) {
      LOG.warn("skipped {} invalid rows (--invalid skip)", skipped.value());
    }
    Outcome.set("scored {} rows with version {}, wrote {}{}", rows, scorer.manifest().version(), output,
        skipped.value() > 0 ? " (" + skipped.value() + " invalid rows skipped)" : "");
    System.out.println("scored " + rows + " rows -> " + output);
    return ExitCode.OK;
  }
}
