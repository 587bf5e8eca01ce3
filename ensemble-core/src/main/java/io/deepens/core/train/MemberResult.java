package io.deepens.core.train;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * A trained member: its network (null when {@link MemberStatus#DIVERGED}) and its report.
 */
public record MemberResult(MultiLayerNetwork network, MemberReport report) {
  /** True unless the member diverged. */
  public boolean usable() {
    return report.status() != MemberStatus.DIVERGED;
  }
}
