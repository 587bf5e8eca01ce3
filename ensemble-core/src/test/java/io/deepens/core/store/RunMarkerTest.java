package io.deepens.core.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which version a run id published: the marker {@link EnsembleStore#publish} writes around its rename. */
class RunMarkerTest {
  @TempDir Path tmp;

  @Test
  void publicationRecordsTheRunIdAndACrashAroundTheRenameIsStillFound() throws Exception {
    Path root = tmp.resolve("store");
    EnsembleStore store = EnsembleStore.open(root.toString(), new Configuration());
    assertEquals(Optional.empty(), store.publishedRun("nightly-1"));
    EnsembleStore.Staging s = store.beginVersion("nightly-1");
    s.write("members/m-000.zip", new byte[] {1});
    store.publish(s, v -> RetentionTest.manifest(v, "nightly-1"));
    assertEquals(new EnsembleStore.PublishedRun("nightly-1", "v000001", true),
        store.publishedRun("nightly-1").orElseThrow());
    assertTrue(Files.readString(root.resolve("runs/nightly-1.json")).contains("\"published\""));
    assertEquals(Optional.empty(), store.publishedRun("nightly-2"));

    // a process that died after the rename but before the second marker write: the manifest decides
    store.writeAtomically(store.runMarker("nightly-1"), EnsembleStore.toJson(
        new EnsembleStore.RunMarker("nightly-1", "v000001", "publishing", Instant.now().toString())));
    assertEquals("v000001", store.publishedRun("nightly-1").orElseThrow().version());
    // one that died before the rename, or lost the name to another run: not published
    store.writeAtomically(store.runMarker("nightly-2"), EnsembleStore.toJson(
        new EnsembleStore.RunMarker("nightly-2", "v000001", "publishing", Instant.now().toString())));
    assertEquals(Optional.empty(), store.publishedRun("nightly-2"));
    store.writeAtomically(store.runMarker("nightly-3"), EnsembleStore.toJson(
        new EnsembleStore.RunMarker("nightly-3", "v000002", "publishing", Instant.now().toString())));
    assertEquals(Optional.empty(), store.publishedRun("nightly-3"));
  }
}
