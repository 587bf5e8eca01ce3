package io.deepens.core.train;

import io.deepens.core.network.MemberNetwork;

/**
 * A trained member: its network (null when {@link MemberStatus#DIVERGED}) and its report.
 */
public record MemberResult(MemberNetwork network, MemberReport report) {
  /** True unless the member diverged. */
  public boolean usable() {
    return report.status() != MemberStatus.DIVERGED;
  }
}
