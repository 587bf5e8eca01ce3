/**
 * The streaming placement of training rows ({@code data.placement: stream}) without Spark: a table seen as splits
 * that can each be read again from their start ({@link io.deepens.core.stream.SplitTable}, implemented on Spark by
 * spark-runner), and a member's per-epoch order of them ({@link io.deepens.core.stream.MemberStream}): a seeded
 * permutation of the splits and a bounded, seeded shuffle buffer of rows, the scheme of tf.data and Petastorm.
 */
package io.deepens.core.stream;
