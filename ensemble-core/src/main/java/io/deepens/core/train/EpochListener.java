package io.deepens.core.train;

/**
 * Hears about every finished epoch, after its checkpoint was saved. Called on the training thread; keep it quick.
 * An exception thrown here aborts training (the saved checkpoint allows resuming).
 */
@FunctionalInterface
public interface EpochListener {
  /** A listener that ignores everything. */
  EpochListener NONE = (member, metrics) -> { };

  void onEpoch(int member, EpochMetrics metrics);
}
