/**
 * Everything in deepens that needs Spark: {@code data} (reading and validating tables), {@code train}
 * (one task per member, data through the shuffle, checkpoints, driver aggregation and publication),
 * {@code score} (bulk scoring and the Spark ML transformer), {@code evaluate} (metrics with mergeable accumulators
 * on executors), {@code kryo} (registration of every class that crosses between driver and executors).
 */
package io.deepens.spark;
