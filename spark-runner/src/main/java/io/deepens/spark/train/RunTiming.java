package io.deepens.spark.train;

import io.deepens.core.DeepensException;
import io.deepens.core.store.EnsembleStore;
import java.util.List;
import java.util.Locale;

/**
 * Where a training run's time went, in milliseconds, kept in the manifest as {@code provenance.timing} (this
 * record's fields are its JSON keys) and logged as one {@code timing:} line.
 *
 * <p>The driver JVM's start until training began ({@code startMillis}: JVM, Spark session, reading the schema),
 * {@code prepareMillis} until the table pass started, the table pass ({@code tablePassMillis}: the shuffle's map side:
 * read, check, copy per member), the check, the member stage, and per member ({@link Member}): the time from the
 * stage's submission until the member's code ran (scheduling and task launch; both are wall clocks, on a cluster they
 * can differ by the hosts' skew), receiving its rows ({@code receiveMillis}: Spark's shuffle read fetches and
 * deserialises them as the task takes them, the task stores them and orders them by their keys), training (network
 * set-up, the epochs with checkpoints and validation; {@code epochsMillis} is the sum of the epochs alone), writing
 * the final model and its validation outputs, and its end until the driver had every member's result.
 *
 * <p>The table pass's tasks time themselves ({@code tableTasksMillis}, summed over tasks, which run side by side)
 * and the part of that spent waiting for the next input row ({@code tableTasksReadMillis}: Spark's reader opening,
 * decompressing and decoding the files, which any trainer of this table pays); {@code tableReadMillis} is the table
 * pass's wall time in that proportion, the rest of it being the profile, the copies and Spark's shuffle writer.
 *
 * <p>{@code placement} is the spec's {@code data.placement}; {@code shuffleWriteBytes} is what Spark's task metrics
 * count as shuffle writes in the run's jobs (table pass and member stage): about members × the table with
 * {@code copy}, 0 with {@code stream}. With {@code stream} the table pass only profiles the table and the members'
 * {@code receiveMillis} is their set-up, since they read the table while they train.
 */
public record RunTiming(long startMillis, long prepareMillis, long tablePassMillis, long tableTasksMillis,
    long tableTasksReadMillis, long tableReadMillis, long checkMillis, long memberStageMillis,
    List<Member> members, String placement, long shuffleWriteBytes) {

  /** One member's share; {@code taskStartMillis} counts from the member stage's start. */
  public record Member(int member, String executorId, String host, long taskStartMillis, long receiveMillis,
      long trainMillis, long epochsMillis, long finishMillis, long collectMillis) {}

  public RunTiming {
    members = List.copyOf(members);
  }

  /**
   * @param tBegin when training began; {@code tMap} the table pass started, {@code tMapped} it ended, {@code tMembers}
   *     the member stage started, {@code tTrained} the driver had every member's outcome (wall clock millis)
   */
  static RunTiming of(long tBegin, long tMap, long tMapped, long tMembers, long tTrained,
      List<MemberOutcome> outcomes, long tableReadNanos, long tablePassNanos, String placement,
      long shuffleWriteBytes) {
    List<Member> members = outcomes.stream().map(o -> new Member(o.member, o.executorId, o.host,
        o.taskStartMillis - tMembers, o.receiveMillis, o.trainMillis, epochsMillis(o.reportJson), o.finishMillis,
        tTrained - (o.taskStartMillis + o.receiveMillis + o.trainMillis + o.finishMillis))).toList();
    long tableRead = tablePassNanos <= 0 ? 0L
        : Math.round((tMapped - tMap) * Math.min(1.0, (double) tableReadNanos / tablePassNanos));
    return new RunTiming(tBegin - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime(),
        tMap - tBegin, tMapped - tMap, tablePassNanos / 1_000_000, tableReadNanos / 1_000_000, tableRead,
        tMembers - tMapped, tTrained - tMembers, members, placement, shuffleWriteBytes);
  }

  private static long epochsMillis(String reportJson) {
    long sum = 0;
    if (reportJson != null) {
      try {
        for (var e : EnsembleStore.json().readTree(reportJson).path("report").path("epochs")) {
          sum += e.path("millis").asLong();
        }
      } catch (java.io.IOException e) {
        throw new DeepensException("invalid member report JSON: " + e.getMessage(), e);
      }
    }
    return sum;
  }

  /** The log line's text. */
  String describe() {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
        "JVM and Spark start %s s, prepare %s s, table pass %s s (reading the input ~%s s of it), check %s s, "
            + "member stage %s s, placement %s, shuffle write %d bytes", seconds(startMillis),
        seconds(prepareMillis), seconds(tablePassMillis), seconds(tableReadMillis), seconds(checkMillis),
        seconds(memberStageMillis), placement, shuffleWriteBytes));
    for (Member m : members) {
      sb.append(String.format(Locale.ROOT, " [member %d on executor %s (%s): task start +%s s, rows received "
              + "(shuffle read) and stored %s s, training %s s (epochs %s s), model written %s s, result collected "
              + "%s s later]", m.member(), m.executorId(), m.host(), seconds(m.taskStartMillis()),
          seconds(m.receiveMillis()), seconds(m.trainMillis()), seconds(m.epochsMillis()), seconds(m.finishMillis()),
          seconds(m.collectMillis())));
    }
    return sb.toString();
  }

  static String seconds(long millis) {
    return String.format(Locale.ROOT, "%.1f", millis / 1000.0);
  }
}
