package io.deepens.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The retention rule on a hand-made store: five versions, LATEST rolled back to v000002, a fresh lease on v000001,
 * an expired one on v000003; plus leftovers of a published run and of an unpublished one.
 */
class RetentionTest {
  @TempDir Path tmp;
  Path root;
  EnsembleStore store;

  static Manifest manifest(String version, String runId) {
    return new Manifest(Manifest.FORMAT_VERSION, version, runId, Instant.now().toString(), "classification", 4, 2,
        null, null, List.of(), new double[0], 1.0, java.util.Map.of(), null, java.util.Map.of(),
        java.util.Map.of());
  }

  @BeforeEach
  void store() throws Exception {
    root = tmp.resolve("store");
    store = EnsembleStore.open(root.toString(), new Configuration());
    for (int i = 1; i <= 5; i++) {
      EnsembleStore.Staging s = store.beginVersion("run-" + i);
      s.write("members/m-000.zip", new byte[] {(byte) i});
      String runId = "run-" + i;
      assertEquals(String.format("v%06d", i), store.publish(s, v -> manifest(v, runId)));
    }
    // an operator rolled back
    store.writeAtomically(new org.apache.hadoop.fs.Path(store.root(), "LATEST"),
        "v000002\n".getBytes(StandardCharsets.UTF_8));
    store.lease("v000001"); // a scorer resolved v000001 just now
    Path old = store.lease("v000003").map(p -> Path.of(p.toUri())).orElseThrow();
    age(old, Duration.ofHours(2));
    Path oldOn5 = store.lease("v000005").map(p -> Path.of(p.toUri())).orElseThrow();
    age(oldOn5, Duration.ofHours(2));
    // leftovers: checkpoints of published run-5 (cleanup interrupted) and of a crashed, unpublished run
    Files.createDirectories(root.resolve("checkpoints/run-5/m-000"));
    Files.write(root.resolve("checkpoints/run-5/m-000/final.zip"), new byte[] {5});
    Files.createDirectories(root.resolve("checkpoints/crashed/m-000"));
    Files.write(root.resolve("checkpoints/crashed/m-000/latest.ckpt"), new byte[] {7});
  }

  static void age(Path p, Duration by) throws Exception {
    Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(by)));
  }

  @Test
  void keepsTheNewestLatestAndRecentlyResolvedVersionsAndRemovesTheRest() throws Exception {
    Retention.Result r = Retention.apply(store, 1);
    assertEquals(List.of("v000001", "v000002", "v000005"), List.copyOf(r.kept().keySet()));
    assertTrue(r.kept().get("v000001").startsWith("resolved by a scorer"), r.kept().toString());
    assertEquals("LATEST", r.kept().get("v000002"));
    assertEquals("one of the newest 1", r.kept().get("v000005"));
    assertEquals(List.of("v000003", "v000004"), r.removed());
    assertEquals(List.of("v000001", "v000002", "v000005"), store.versions());
    assertFalse(Files.exists(root.resolve("leases/v000003")), "leases of removed versions go with them");
    try (Stream<Path> trash = Files.list(root.resolve("trash"))) {
      assertEquals(0, trash.filter(p -> !p.getFileName().toString().startsWith(".")).count(), "trash emptied");
    }
    try (Stream<Path> leases = Files.list(root.resolve("leases/v000005"))) {
      assertEquals(0, leases.filter(p -> !p.getFileName().toString().startsWith(".")).count(),
          "an expired lease of a kept version is removed");
    }
    assertFalse(Files.exists(root.resolve("checkpoints/run-5")), "checkpoints of a published run are removed");
    assertTrue(Files.exists(root.resolve("checkpoints/crashed/m-000/latest.ckpt")),
        "checkpoints of an unpublished (crashed) run stay for its rerun");
    // the kept versions still read; the run markers of removed versions still say they were published
    assertEquals("run-2", store.resolve("LATEST").runId());
    assertEquals(new EnsembleStore.PublishedRun("run-3", "v000003", false), store.publishedRun("run-3").orElseThrow());
    // a second pass has nothing left to remove
    Retention.Result again = Retention.apply(store, 1);
    assertTrue(again.removed().isEmpty() && again.other().isEmpty(), again.toString());
  }

  @Test
  void anExpiredLeaseNoLongerProtectsAndADryRunChangesNothing() throws Exception {
    try (Stream<Path> leases = Files.list(root.resolve("leases/v000001"))) {
      for (Path p : leases.toList()) {
        age(p, Duration.ofMinutes(61));
      }
    }
    Retention.Result dry = Retention.apply(store, 2, Retention.DEFAULT_LEASE_AGE, true);
    assertEquals(List.of("v000001", "v000003"), dry.removed());
    assertEquals(5, store.versions().size(), "a dry run removes nothing");
    Retention.Result r = Retention.apply(store, 2, Retention.DEFAULT_LEASE_AGE, false);
    assertEquals(List.of("v000001", "v000003"), r.removed());
    assertEquals(List.of("v000002", "v000004", "v000005"), store.versions());
  }

  @Test
  void keepMustBePositive() {
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> Retention.apply(store, 0));
    assertTrue(e.getMessage().contains("--keep"), e.getMessage());
  }

  @Test
  void resolvingForScoringWritesALease() throws Exception {
    Manifest m = store.resolveAndLease(null);
    assertEquals("v000002", m.version());
    try (Stream<Path> leases = Files.list(root.resolve("leases/v000002"))) {
      List<Path> files = leases.filter(p -> !p.getFileName().toString().startsWith(".")).toList();
      assertEquals(1, files.size());
      assertTrue(Files.readString(files.get(0), StandardCharsets.UTF_8).contains("\"version\":\"v000002\""));
    }
  }
}
