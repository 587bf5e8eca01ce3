package io.deepens.core.spec;

/**
 * How a member's training rows reach its task ({@code data.placement}).
 *
 * <ul>
 *   <li>{@link #COPY} (the default): every member receives its own copy of the table through Spark's shuffle and
 *       stores it in a spill file on the executor's local disk; each epoch is a full Fisher–Yates permutation of
 *       that copy. Local disk and shuffle files grow with members × table.</li>
 *   <li>{@link #STREAM}: every member reads the table's splits from their source itself, once per epoch, in a
 *       per-member, per-epoch order of the splits, through a bounded shuffle buffer of {@code data.shuffleBuffer}
 *       rows. No shuffle, no spill file: heap and disk per member do not grow with the table.</li>
 * </ul>
 */
public enum Placement {
  COPY,
  STREAM
}
