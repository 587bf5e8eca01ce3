package io.deepens.core.train;

import io.deepens.core.lean.LeanPath;

/**
 * Where and how a member trained: ND4J's backend, the device its training thread was bound to, and which code ran
 * its minibatches ({@link LeanPath}'s decision, with the reason named).
 *
 * @param backend ND4J's backend: CPU, CUDA or OTHER
 * @param device the device ordinal ND4J ran this member's thread on (its affinity manager's device for the thread);
 *     null on the CPU backend, where there is no device to choose
 * @param path LEAN (this project's CPU step) or DL4J ({@code fit})
 * @param reason why that path: {@link LeanPath.Reason}
 * @param detail more about the reason (the property and value, the failed check), or null
 */
public record ComputePath(LeanPath.Backend backend, Integer device, LeanPath.Path path, LeanPath.Reason reason,
    String detail) {
  /** The record of {@code decision}, made on the thread that trains, with that thread's device. */
  static ComputePath of(LeanPath.Decision decision, Integer device) {
    return new ComputePath(decision.backend(), device, decision.path(), decision.reason(), decision.detail());
  }
}
