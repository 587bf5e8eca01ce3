/**
 * Seed splitting: every random number a member uses derives from (ensemble seed, member index, purpose, epoch) or
 * from (member seed, row key) by SplitMix64 mixing. Nothing here reads the clock, the thread or the task order, so
 * results do not depend on scheduling, partitioning or retries.
 */
package io.deepens.core.random;
