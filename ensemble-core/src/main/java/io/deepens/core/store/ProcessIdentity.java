package io.deepens.core.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.Optional;

/**
 * Who this process is, in the terms a run lock or a scoring job's staging folder records: host name, a host
 * identity, pid and start time; and whether a process so recorded is known to be gone.
 *
 * <p>"This host" means the same host name <em>and</em> the same host identity: on Linux the kernel's boot id
 * ({@code /proc/sys/kernel/random/boot_id}) and this process's pid namespace ({@code /proc/self/ns/pid}). The name
 * alone is not enough: containers on different machines (or in different pid namespaces of one machine) can share a
 * host name while their pids mean different processes. A record without a host identity (older lock files, other
 * operating systems) never counts as this host, so the cross-host rules (heartbeats) judge it.
 */
public final class ProcessIdentity {
  private static final String HOST = lookUpHost();
  private static final String HOST_ID = lookUpHostId();

  private ProcessIdentity() {}

  /** This machine's host name as {@code InetAddress.getLocalHost()} gives it; {@code unknown} when it cannot. */
  public static String host() {
    return HOST;
  }

  /** {@code <boot id>/<pid namespace>} on Linux; null where they cannot be read. */
  public static String hostId() {
    return HOST_ID;
  }

  /** The first 8 hex digits of the SHA-256 of {@link #hostId}, short enough for a file name; null without one. */
  public static String hostIdDigest() {
    return HOST_ID == null ? null : Sha256.of(HOST_ID.getBytes(StandardCharsets.UTF_8)).substring(0, 8);
  }

  public static long pid() {
    return ProcessHandle.current().pid();
  }

  /** When this process started (ISO-8601), or null when the operating system does not say. */
  public static String startedAt() {
    return startOf(ProcessHandle.current()).orElse(null);
  }

  /**
   * Why the process recorded as ({@code host}, {@code hostId}, {@code pid}, {@code startedAt}) is known to be gone,
   * or empty when it may be alive: it runs on another host (or one that cannot be told apart from another), or a
   * process with that pid and start time is running here.
   *
   * @param startedAt the recorded start time; when null, a live process with that pid counts as the holder
   */
  public static Optional<String> goneFromThisHost(String host, String hostId, long pid, String startedAt) {
    if (host == null || hostId == null || HOST_ID == null || !host.equals(HOST) || !hostId.equals(HOST_ID)
        || "unknown".equals(host) || pid <= 0) {
      return Optional.empty();
    }
    Optional<ProcessHandle> p = ProcessHandle.of(pid);
    if (p.isEmpty() || !p.get().isAlive()) {
      return Optional.of("pid " + pid + " is not running on this host (" + host + ")");
    }
    if (startedAt != null) {
      Optional<String> now = startOf(p.get());
      if (now.isPresent() && !now.get().equals(startedAt)) {
        return Optional.of("pid " + pid + " on this host (" + host + ") is now another program, started at "
            + now.get() + " (the recorded process started at " + startedAt + ")");
      }
    }
    return Optional.empty();
  }

  private static Optional<String> startOf(ProcessHandle p) {
    return p.info().startInstant().map(Instant::toString);
  }

  private static String lookUpHost() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String lookUpHostId() {
    try {
      String boot = Files.readString(java.nio.file.Path.of("/proc/sys/kernel/random/boot_id"),
          StandardCharsets.US_ASCII).trim();
      String ns = Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/ns/pid")).toString();
      return boot.isEmpty() ? null : boot + "/" + ns;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      return null;
    }
  }
}
