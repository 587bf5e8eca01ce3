package io.deepens.spark.train;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spark's shuffle write bytes (task metrics) of the jobs a training run submits from the calling thread between
 * {@link #start} and {@link #stop}: the copy placement's table pass writes members × table there, the streaming
 * placement nothing. Jobs are recognised by a local property set on the calling thread, so other jobs of the same
 * application do not count.
 */
final class ShuffleWrites extends SparkListener {
  private static final Logger LOG = LoggerFactory.getLogger(ShuffleWrites.class);
  static final String PROPERTY = "deepens.train.tag";

  private final SparkSession spark;
  private final String tag;
  private final Set<Integer> stages = ConcurrentHashMap.newKeySet();
  private final AtomicLong bytes = new AtomicLong();
  private final String previous;

  private ShuffleWrites(SparkSession spark) {
    this.spark = spark;
    this.tag = java.util.UUID.randomUUID().toString();
    this.previous = spark.sparkContext().getLocalProperty(PROPERTY);
  }

  static ShuffleWrites start(SparkSession spark) {
    ShuffleWrites w = new ShuffleWrites(spark);
    spark.sparkContext().addSparkListener(w);
    spark.sparkContext().setLocalProperty(PROPERTY, w.tag);
    return w;
  }

  @Override
  public void onJobStart(SparkListenerJobStart job) {
    if (job.properties() != null && tag.equals(job.properties().getProperty(PROPERTY))) {
      scala.collection.Iterator<Object> it = job.stageIds().iterator();
      while (it.hasNext()) {
        stages.add((Integer) it.next());
      }
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd task) {
    if (task.taskMetrics() != null && stages.contains(task.stageId())) {
      bytes.addAndGet(task.taskMetrics().shuffleWriteMetrics().bytesWritten());
    }
  }

  /** Waits (a few seconds at most) until Spark's listener bus has delivered the run's events, then detaches. */
  void stop() {
    spark.sparkContext().setLocalProperty(PROPERTY, previous);
    try {
      spark.sparkContext().listenerBus().waitUntilEmpty(10_000L);
    } catch (Exception e) { // a timeout (a busy bus) leaves the figure possibly short; say so
      LOG.warn("shuffle write bytes may be incomplete: Spark's listener bus did not drain: {}", e.toString());
    }
    spark.sparkContext().removeSparkListener(this);
  }

  /** Shuffle bytes written by the run's tasks. */
  long bytesWritten() {
    return bytes.get();
  }
}
