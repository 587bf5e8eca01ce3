package io.deepens.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * The driver is pinned to loopback only where every process runs on this machine; under any cluster master the
 * driver's address is Spark's own resolution, which executors on other hosts can reach (TwoHostIT runs that).
 */
class SparkSessionsTest {
  static SparkConf configured(String master) {
    return SparkSessions.configure(new SparkConf(false), master, "test", Map.of());
  }

  @Test
  void localMastersPinTheDriverToLoopbackAndTurnTheUiOff() {
    for (String master : List.of("local", "local[2]", "local[*,3]", "local-cluster[2,1,1024]")) {
      SparkConf c = configured(master);
      assertEquals("127.0.0.1", c.get("spark.driver.host"), master);
      assertEquals("127.0.0.1", c.get("spark.driver.bindAddress"), master);
      assertEquals("false", c.get("spark.ui.enabled"), master);
    }
  }

  @Test
  void clusterMastersLeaveTheDriverAddressAndUiToSpark() {
    for (String master : List.of("spark://master.example.org:7077", "yarn", "k8s://https://api:443",
        "spark://10.0.0.1:7077,10.0.0.2:7077")) {
      SparkConf c = configured(master);
      assertFalse(c.contains("spark.driver.host"), master);
      assertFalse(c.contains("spark.driver.bindAddress"), master);
      assertFalse(c.contains("spark.ui.enabled"), master);
      assertEquals("org.apache.spark.serializer.KryoSerializer", c.get("spark.serializer"), master);
    }
  }

  @Test
  void whatTheUserSetStandsThenTheCommandsSettingsThenDeepensDefaults() {
    SparkConf c = SparkSessions.configure(new SparkConf(false).set("spark.driver.host", "10.1.2.3")
            .set("spark.sql.shuffle.partitions", "64"), "local[2]", "t",
        Map.of("spark.ui.enabled", "true", "spark.sql.shuffle.partitions", "16", "spark.driver.host", "10.9.9.9"));
    assertEquals("10.1.2.3", c.get("spark.driver.host"), "spark-submit's setting (a system property) stands");
    assertEquals("64", c.get("spark.sql.shuffle.partitions"));
    assertEquals("true", c.get("spark.ui.enabled"), "the command's --conf wins over deepens' default");
    assertEquals("8", configured("local[2]").get("spark.sql.shuffle.partitions"), "deepens' default");
  }
}
