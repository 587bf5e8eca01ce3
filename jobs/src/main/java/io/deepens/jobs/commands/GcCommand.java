package io.deepens.jobs.commands;

import io.deepens.core.InvalidInputException;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Retention;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/** {@code gc}: removes old versions (and leftovers) from a store by the retention rule of {@link Retention}. */
public final class GcCommand implements Command {
  @Override
  public String name() {
    return "gc";
  }

  @Override
  public String summary() {
    return "remove old versions from a store, keeping the newest N, LATEST and versions scorers resolved lately";
  }

  @Override
  public String usage() {
    return """
        usage: deepens gc --store URI --keep N [--lease-minutes M] [--dry-run]

          --store URI            ensemble store
          --keep N               keep the newest N versions (N >= 1); older ones are removed unless LATEST names
                                 them or a scorer resolved them less than --lease-minutes ago
          --lease-minutes M      how long a scorer's resolution protects a version (default 60)
          --dry-run              print what would be removed, change nothing

        Also removes expired leases, checkpoints of runs that were published, and staging folders of published
        runs or older than a day. 'train --keep N' applies the same rule after publishing.
        Exits 0 when it removed something (or, with --dry-run, would), 4 when there is nothing to remove.""";
  }

  @Override
  public Set<String> options() {
    return Set.of("store", "keep", "lease-minutes");
  }

  @Override
  public Set<String> flags() {
    return Set.of("dry-run");
  }

  @Override
  public ExitCode run(Args a) {
    String uri = a.require("store");
    Integer keep = a.getInt("keep");
    InvalidInputException.check(keep != null, "gc: --keep is required (see 'deepens gc --help')");
    Integer minutes = a.getInt("lease-minutes");
    InvalidInputException.check(minutes == null || minutes >= 0, "gc: --lease-minutes must be >= 0, found %s",
        minutes);
    Duration leaseAge = minutes == null ? Retention.DEFAULT_LEASE_AGE : Duration.ofMinutes(minutes);
    EnsembleStore store = EnsembleStore.open(uri, new Configuration());
    boolean dry = a.flag("dry-run");
    Retention.Result r = Retention.apply(store, keep, leaseAge, dry);
    for (Map.Entry<String, String> e : r.kept().entrySet()) {
      System.out.println("keep    " + e.getKey() + "  (" + e.getValue() + ")");
    }
    for (String v : r.removed()) {
      System.out.println((dry ? "would remove " : "removed ") + v);
    }
    for (String p : r.other()) {
      System.out.println((dry ? "would remove " : "removed ") + p);
    }
    if (r.removed().isEmpty() && r.other().isEmpty()) {
      Outcome.set("nothing to do: {} keeps all {} versions {}", store.uri(), r.kept().size(),
          r.kept().keySet());
      return ExitCode.NOTHING_TO_DO;
    }
    Outcome.set("{} {} version(s) {} and {} other path(s) from {}; kept {}", dry ? "would remove" : "removed",
        r.removed().size(), r.removed(), r.other().size(), store.uri(), r.kept().keySet());
    return ExitCode.OK;
  }
}
