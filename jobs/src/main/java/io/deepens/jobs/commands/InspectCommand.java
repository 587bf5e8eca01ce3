package io.deepens.jobs.commands;

import com.fasterxml.jackson.databind.JsonNode;
import io.deepens.core.hyper.GreedySelection;
import io.deepens.core.hyper.HyperDeepReport;
import io.deepens.core.store.EnsembleStore;
import io.deepens.core.store.Manifest;
import io.deepens.jobs.ExitCode;
import io.deepens.jobs.Outcome;
import io.deepens.jobs.cli.Args;
import io.deepens.jobs.cli.Command;
import io.deepens.jobs.cli.EnsembleRef;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/** {@code inspect}: shows a version's manifest as a table (or JSON), or lists a store's versions. No Spark needed. */
public final class InspectCommand implements Command {
  @Override
  public String name() {
    return "inspect";
  }

  @Override
  public String summary() {
    return "show a version's members, weights, metrics, data fingerprint and provenance; or list versions";
  }

  @Override
  public String usage() {
    return """
        usage: deepens inspect --ensemble STORE[#VERSION] [--json | --versions]

          --ensemble STORE[#V]   store and version (default: the version LATEST names)
          --json                 print the manifest as JSON (for machines)
          --versions             list the store's versions, marking LATEST""";
  }

  @Override
  public Set<String> options() {
    return Set.of("ensemble");
  }

  @Override
  public Set<String> flags() {
    return Set.of("json", "versions");
  }

  @Override
  public ExitCode run(Args a) throws Exception {
    EnsembleRef ref = EnsembleRef.parse(a.require("ensemble"));
    EnsembleStore store = EnsembleStore.open(ref.store(), new Configuration());
    PrintStream out = System.out;
    if (a.flag("versions")) {
      Optional<String> latest = store.latestVersion();
      for (String v : store.versions()) {
        Manifest m = store.readManifest(v);
        out.printf(Locale.ROOT, "%s%s  run %-28s %s  %d members%n", v,
            latest.isPresent() && latest.get().equals(v) ? " (LATEST)" : "         ", m.runId(), m.createdAt(),
            m.usableMembers().size());
      }
      Outcome.set("listed {} versions of {} (LATEST {})", store.versions().size(), store.uri(),
          latest.orElse("none"));
      return ExitCode.OK;
    }
    Manifest m = store.resolve(ref.version());
    if (a.flag("json")) {
      out.println(EnsembleStore.json().writeValueAsString(m));
    } else {
      print(store, m, out);
    }
    Outcome.set("printed the manifest of {}#{}", store.uri(), m.version());
    return ExitCode.OK;
  }

  static void print(EnsembleStore store, Manifest m, PrintStream out) {
    out.printf(Locale.ROOT, "ensemble  %s#%s%n", store.uri(), m.version());
    out.printf(Locale.ROOT, "run       %s, published %s%n", m.runId(), m.createdAt());
    out.printf(Locale.ROOT, "task      %s, %d features, %d outputs%n", m.task(), m.numFeatures(), m.outputs());
    out.printf(Locale.ROOT, "spec      %s (sha256 %s)%n", m.spec().path("name").asText(), m.specSha256());
    out.printf(Locale.ROOT, "data      %s: %d rows (%d train, %d validation), content hash %s%n", m.data().uri(),
        m.data().rows(), m.data().trainRows(), m.data().validationRows(), m.data().contentHash());
    out.printf(Locale.ROOT, "mixture   temperature %.4f%n", m.temperature());
    out.printf(Locale.ROOT, "scoring   %s%n%n", scoringCost(m));
    out.printf(Locale.ROOT, "%-7s %-14s %8s %10s %10s  %s%n", "member", "status", "weight", "val NLL", "val acc",
        "file (sha256)");
    int w = 0;
    JsonNode members = EnsembleStore.json().valueToTree(m.validation().get("members"));
    for (Manifest.MemberEntry e : m.members()) {
      double weight = e.usable() ? m.weights()[w] : 0.0;
      JsonNode vm = null;
      if (e.usable() && members != null && members.isArray()) {
        vm = members.get(w);
      }
      if (e.usable()) {
        w++;
      }
      out.printf(Locale.ROOT, "%-7d %-14s %8.4f %10s %10s  %s%n", e.index(), e.status(), weight,
          vm == null ? "-" : String.format(Locale.ROOT, "%.4f", vm.path("nll").asDouble()),
          vm == null ? "-" : String.format(Locale.ROOT, "%.4f", vm.path("accuracy").asDouble()),
          e.usable() ? e.file() + " (" + e.sha256().substring(0, 12) + "…)" : "-");
    }
    Object ens = m.validation().get("ensemble");
    out.printf(Locale.ROOT, "%nvalidation (ensemble): %s%n", ens);
    if (m.hyperDeep() != null) {
      printHyperDeep(m.hyperDeep(), out);
    }
    out.println("provenance:");
    for (Map.Entry<String, Object> p : m.provenance().entrySet()) {
      out.printf(Locale.ROOT, "  %-20s %s%n", p.getKey(), p.getValue());
    }
  }

  /** The pool, the selection path, the retrained members and the cost of a hyper-deep ensemble. */
  static void printHyperDeep(HyperDeepReport h, PrintStream out) {
    out.printf(Locale.ROOT, "%nhyper-deep pool (%d candidates):%n", h.pool().size());
    out.printf(Locale.ROOT, "  %-9s %-14s %10s %11s %8s %-12s %7s %10s %10s%n", "candidate", "status", "learnRate",
        "weightDecay", "dropout", "hidden", "epochs", "val NLL", "val acc");
    int[] counts = h.selection().counts();
    for (HyperDeepReport.PoolCandidate c : h.pool()) {
      out.printf(Locale.ROOT, "  %-9d %-14s %10.3g %11.3g %8.4f %-12s %7d %10s %10s%s%n", c.candidate(), c.status(),
          c.learningRate(), c.weightDecay(), c.dropout(), c.hidden(), c.epochsRun(),
          c.validationNll() == null ? "-" : String.format(Locale.ROOT, "%.4f", c.validationNll()),
          c.validationAccuracy() == null ? "-" : String.format(Locale.ROOT, "%.4f", c.validationAccuracy()),
          counts != null && c.candidate() < counts.length && counts[c.candidate()] > 0
              ? "  selected x" + counts[c.candidate()] : "");
    }
    out.printf(Locale.ROOT, "selection: %s, at most %d picks, stopped: %s%n", h.selection().method(),
        h.selection().sizeLimit(), h.selection().stoppedBecause());
    for (GreedySelection.Step s : h.selection().path()) {
      out.printf(Locale.ROOT, "  step %d: +candidate %d -> mixture val NLL %.4f%n", s.step(), s.candidate(),
          s.mixtureNll());
    }
    out.printf(Locale.ROOT, "retrained members (%s):%n", h.selection().allocation());
    for (HyperDeepReport.RetrainedMember r : h.members()) {
      out.printf(Locale.ROOT, "  member %d <- candidate %d%n", r.member(), r.candidate());
    }
    HyperDeepReport.Cost c = h.cost();
    out.printf(Locale.ROOT, "cost: %d member-epochs (pool %d + retraining %d) = %.2f x a plain ensemble's %d%n",
        c.memberEpochs(), c.poolMemberEpochs(), c.retrainMemberEpochs(), c.ratio(), c.plainEnsembleMemberEpochs());
  }

  /**
   * "N forward passes per row (M members × S components …)": from the spec (SWAG samples, MC dropout passes, else
   * one per member), so manifests written before {@code provenance.scoringCost} existed show it too.
   */
  static String scoringCost(Manifest m) {
    return scoringCost(m.spec().path("ensemble"), m.usableMembers().size());
  }

  /** The scoring line of {@link #scoringCost(Manifest)} for a spec's {@code ensemble} section and its member count. */
  static String scoringCost(JsonNode e, int members) {
    JsonNode swag = e.path("swag");
    int mc = e.path("mcDropoutSamples").asInt(0);
    if (swag.isObject()) {
      int s = swag.path("samples").asInt();
      double scale = swag.path("scale").asDouble(1.0);
      return String.format(Locale.ROOT, "%d forward passes per row (%d members × %d SWAG samples; MultiSWAG: %d"
          + " SWAG epochs at learning rate %s, rank %d, %d snapshots per epoch%s)", (long) members * s, members, s,
          swag.path("epochs").asInt(), swag.path("learningRate").asText(), swag.path("rank").asInt(),
          swag.path("snapshotsPerEpoch").asInt(), scale == 1.0 ? "" : ", covariance × " + swag.path("scale").asText());
    }
    if (mc > 0) {
      return String.format(Locale.ROOT, "%d forward passes per row (%d members × %d Monte Carlo dropout passes)",
          (long) members * mc, members, mc);
    }
    return String.format(Locale.ROOT, "%d forward pass%s per row (one per member)", members,
        members == 1 ? "" : "es");
  }
}
