package io.deepens.core.train;

import io.deepens.core.network.MemberNetwork;

/**
 * A trained member: its network (null when {@link MemberStatus#DIVERGED}), its report, and with
 * {@code ensemble.swag} its SWAG moments (the network then holds their mean θ̄, the SWA weights; else null).
 */
public record MemberResult(MemberNetwork network, MemberReport report, SwagMoments swag) {
  /** A member without SWAG moments. */
  public MemberResult(MemberNetwork network, MemberReport report) {
    this(network, report, null);
  }

  /** True unless the member diverged. */
  public boolean usable() {
    return report.status() != MemberStatus.DIVERGED;
  }
}
