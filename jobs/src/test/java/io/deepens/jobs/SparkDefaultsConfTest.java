package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.internal.config.ConfigEntry;
import org.apache.spark.internal.config.ConfigEntry$;
import org.apache.spark.launcher.SparkLauncher;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.resource.ResourceUtils;
import org.junit.jupiter.api.Test;

/**
 * Every {@code conf/spark-defaults-*.conf} says only what Spark understands: each key, active or optional
 * ({@code #spark.key value}), is one Spark defines (its own configuration entries, those of Spark's YARN and
 * Kubernetes modules, spark-submit's launcher keys) or lies in a namespace Spark passes through
 * ({@code spark.hadoop.}, {@code spark.executorEnv.}, {@code spark.deepens.}, GPU resources); each value parses
 * with that entry's own converter (sizes with Spark's byte-string parser); the Kryo registrators and serializer
 * named exist on the classpath; the ND4J off-heap limits parse with JavaCPP's parser and fit the executor's memory.
 * A typo fails the build.
 */
class SparkDefaultsConfTest {
  static final Path CONF = Path.of(EndToEndTest.ROOT, "conf");

  /** Spark objects whose initialisation registers their configuration entries (Spark 3.5). */
  static final List<String> CONFIG_OBJECTS = List.of(
      "org.apache.spark.internal.config.package$",
      "org.apache.spark.internal.config.Deploy$",
      "org.apache.spark.internal.config.History$",
      "org.apache.spark.internal.config.Kryo$",
      "org.apache.spark.internal.config.Network$",
      "org.apache.spark.internal.config.Python$",
      "org.apache.spark.internal.config.R$",
      "org.apache.spark.internal.config.Status$",
      "org.apache.spark.internal.config.Streaming$",
      "org.apache.spark.internal.config.Tests$",
      "org.apache.spark.internal.config.UI$",
      "org.apache.spark.internal.config.Worker$",
      "org.apache.spark.sql.internal.SQLConf$",
      "org.apache.spark.sql.internal.StaticSQLConf$",
      "org.apache.spark.deploy.yarn.config.package$",
      "org.apache.spark.deploy.k8s.Config$");

  /** Namespaces whose keys Spark passes on without a configuration entry of its own. */
  static final List<String> PASS_THROUGH = List.of("spark.hadoop.", "spark.executorEnv.", "spark.deepens.");

  /** GPU and other resources: spark.{driver,executor,worker}.resource.NAME.{amount,discoveryScript,vendor}. */
  static final Pattern RESOURCE = Pattern.compile(
      "spark\\.(driver|executor|worker)\\.resource\\.([A-Za-z0-9._/-]+)\\.(" + ResourceUtils.AMOUNT() + "|"
          + ResourceUtils.DISCOVERY_SCRIPT() + "|" + ResourceUtils.VENDOR() + ")");
  static final Pattern TASK_RESOURCE = Pattern.compile("spark\\.task\\.resource\\.([A-Za-z0-9._/-]+)\\."
      + ResourceUtils.AMOUNT());

  static final Pattern JAVACPP_OPTION =
      Pattern.compile("-Dorg\\.bytedeco\\.javacpp\\.(maxbytes|maxphysicalbytes)=(\\S+)");

  /** One {@code key value} line of a file: optional when written {@code #spark.key value}. */
  record Setting(int line, String key, String value, boolean optional) {}

  @Test
  void theStandaloneYarnAndKubernetesExamplesExist() throws IOException {
    List<String> names = files().stream().map(p -> p.getFileName().toString()).sorted().toList();
    assertEquals(List.of("spark-defaults-k8s.conf", "spark-defaults-standalone.conf", "spark-defaults-yarn.conf"),
        names);
  }

  @Test
  void everyKeyAndValueIsOneSparkKnows() throws IOException {
    List<String> problems = new ArrayList<>();
    for (Path f : files()) {
      String name = f.getFileName().toString();
      String text = Files.readString(f);
      problems.addAll(check(name, text));
      Map<String, String> all = new LinkedHashMap<>();
      parse(name, text, new ArrayList<>()).forEach(s -> all.put(s.key(), s.value()));
      for (String required : List.of("spark.executor.memory", "spark.executor.cores", "spark.serializer",
          "spark.kryo.registrator", "spark.executor.extraJavaOptions", "spark.executor.resource.gpu.amount")) {
        if (!all.containsKey(required)) {
          problems.add(f.getFileName() + ": no " + required + " (every example shows it)");
        }
      }
      String opts = all.getOrDefault("spark.executor.extraJavaOptions", "");
      if (!opts.contains("-Dorg.bytedeco.javacpp.maxbytes=")
          || !opts.contains("-Dorg.bytedeco.javacpp.maxphysicalbytes=")) {
        problems.add(f.getFileName() + ": spark.executor.extraJavaOptions must set both ND4J off-heap limits");
      }
    }
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }

  @Test
  void aTypoOrABadValueFailsTheCheck() {
    String conf = """
        # a comment
        spark.executor.memroy                 4g
        spark.executor.memory                 4 gigs
        spark.executor.cores                  4
        spark.kryo.registrator                io.deepens.spark.kryo.DeepensKryoRegistrater
        spark.executor.extraJavaOptions -Dorg.bytedeco.javacpp.maxbytes=6g -Dorg.bytedeco.javacpp.maxphysicalbytes=2.5g
        #spark.speculaton                     false
        #spark.executor.resource.gpu.amout    1
        spark.executor.cores                  2
        spark.hadoop.fs.s3a.endpoint          http://127.0.0.1:9000
        """;
    List<String> problems = check("typos.conf", conf);
    String all = String.join("\n", problems);
    for (String expected : List.of(
        "typos.conf:2: unknown key spark.executor.memroy (did you mean spark.executor.memory?)",
        "typos.conf:3: spark.executor.memory = '4 gigs' does not parse",
        "typos.conf:5: class io.deepens.spark.kryo.DeepensKryoRegistrater named by spark.kryo.registrator is not "
            + "on the classpath",
        "typos.conf:6: -Dorg.bytedeco.javacpp.maxphysicalbytes=2.5g does not parse",
        "typos.conf:7: unknown key spark.speculaton (did you mean spark.speculation?)",
        "typos.conf:8: unknown key spark.executor.resource.gpu.amout",
        "typos.conf:9: spark.executor.cores is set twice (lines 4 and 9)")) {
      assertTrue(all.contains(expected), "'" + expected + "' missing from:\n" + all);
    }
    assertEquals(7, problems.size(), all);

    List<String> tooSmall = check("small.conf", """
        spark.executor.memory                 4g
        spark.executor.memoryOverhead         2g
        spark.executor.extraJavaOptions -Dorg.bytedeco.javacpp.maxbytes=4g -Dorg.bytedeco.javacpp.maxphysicalbytes=7g
        """);
    assertEquals(List.of(
        "small.conf: maxphysicalbytes 7168 MiB is less than spark.executor.memory + maxbytes = 8192 MiB",
        "small.conf: maxphysicalbytes 7168 MiB is not below the container's spark.executor.memory + "
            + "spark.executor.memoryOverhead = 6144 MiB"), tooSmall);
  }

  static List<Path> files() throws IOException {
    try (Stream<Path> s = Files.list(CONF)) {
      return s.filter(p -> p.getFileName().toString().matches("spark-defaults-.*\\.conf")).sorted().toList();
    }
  }

  /** The settings of a file in Spark's properties format; lines it cannot read are added to {@code problems}. */
  static List<Setting> parse(String name, String text, List<String> problems) {
    List<Setting> out = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      boolean optional = line.startsWith("#spark.");
      if (line.isEmpty() || (!optional && (line.startsWith("#") || line.startsWith("!")))) {
        continue;
      }
      if (line.endsWith("\\")) {
        problems.add(name + ":" + (i + 1) + ": no continuation lines, please: one setting per line");
        continue;
      }
      Properties p = new Properties();
      try {
        p.load(new StringReader(optional ? line.substring(1) : line)); // as Spark reads it (Properties.load)
      } catch (IOException | IllegalArgumentException e) {
        problems.add(name + ":" + (i + 1) + ": not a properties line: " + e.getMessage());
        continue;
      }
      for (String k : p.stringPropertyNames()) {
        out.add(new Setting(i + 1, k, p.getProperty(k).strip(), optional));
      }
    }
    return out;
  }

  /** All problems of one file, each as {@code name:line: message}; empty when Spark would take every setting. */
  static List<String> check(String name, String text) {
    loadSparkConfigEntries();
    List<String> problems = new ArrayList<>();
    List<Setting> settings = parse(name, text, problems);
    Map<String, Setting> seen = new LinkedHashMap<>();
    for (Setting s : settings) {
      String at = name + ":" + s.line() + ": ";
      Setting before = seen.put(s.key(), s);
      if (before != null) {
        problems.add(at + s.key() + " is set twice (lines " + before.line() + " and " + s.line() + ")");
      }
      problems.addAll(checkSetting(at, s));
    }
    problems.addAll(checkMemory(name, seen));
    return problems;
  }

  static List<String> checkSetting(String at, Setting s) {
    List<String> problems = new ArrayList<>();
    String key = s.key();
    String value = s.value();
    if (PASS_THROUGH.stream().anyMatch(key::startsWith)) {
      return problems;
    }
    Matcher r = RESOURCE.matcher(key);
    if (r.matches() || TASK_RESOURCE.matcher(key).matches()) {
      if (key.endsWith("." + ResourceUtils.AMOUNT())) {
        try {
          if (!(Double.parseDouble(value) > 0)) {
            problems.add(at + key + " must be positive, found " + value);
          }
        } catch (NumberFormatException e) {
          problems.add(at + key + " = '" + value + "' is not a number");
        }
      } else if (key.endsWith("." + ResourceUtils.DISCOVERY_SCRIPT())) {
        if (!value.endsWith("/gpu-discovery.sh") || !Files.isExecutable(CONF.resolve("gpu-discovery.sh"))) {
          problems.add(at + key + " should name conf/gpu-discovery.sh (installed on the nodes), found " + value);
        }
      }
      return problems;
    }
    ConfigEntry<?> entry = ConfigEntry.findEntry(key);
    if (entry == null && !launcherKeys().contains(key)) {
      String near = nearest(key);
      problems.add(at + "unknown key " + key + (near == null ? "" : " (did you mean " + near + "?)"));
      return problems;
    }
    if (entry != null) {
      try {
        entry.valueConverter().apply(value);
      } catch (RuntimeException e) {
        problems.add(at + key + " = '" + value + "' does not parse: " + e.getMessage());
        return problems;
      }
    }
    switch (key) {
      case "spark.kryo.registrator" -> {
        for (String c : value.split(",")) {
          problems.addAll(checkClass(at, key, c.strip(), org.apache.spark.serializer.KryoRegistrator.class));
        }
      }
      case "spark.serializer" -> problems.addAll(checkClass(at, key, value,
          org.apache.spark.serializer.Serializer.class));
      case "spark.executor.extraJavaOptions", "spark.driver.extraJavaOptions" -> {
        for (String opt : value.split("\\s+")) {
          if (opt.startsWith("-Dorg.bytedeco.javacpp.")) {
            Matcher m = JAVACPP_OPTION.matcher(opt);
            if (!m.matches()) {
              problems.add(at + opt + " is not -Dorg.bytedeco.javacpp.maxbytes=SIZE or ...maxphysicalbytes=SIZE");
              continue;
            }
            try {
              org.bytedeco.javacpp.Pointer.parseBytes(m.group(2), Runtime.getRuntime().maxMemory());
            } catch (NumberFormatException e) {
              problems.add(at + opt + " does not parse: " + e.getMessage());
            }
          }
        }
      }
      default -> { }
    }
    return problems;
  }

  /** maxphysicalbytes holds the heap and ND4J's maxbytes, and stays below a YARN or Kubernetes container. */
  static List<String> checkMemory(String name, Map<String, Setting> settings) {
    List<String> problems = new ArrayList<>();
    Setting opts = settings.get("spark.executor.extraJavaOptions");
    Setting memory = settings.get("spark.executor.memory");
    if (opts == null || memory == null) {
      return problems;
    }
    long heapMiB;
    try {
      heapMiB = JavaUtils.byteStringAsMb(memory.value()); // Spark reads a plain number as MiB here
    } catch (NumberFormatException e) {
      return problems; // reported already
    }
    Map<String, Long> limits = new LinkedHashMap<>();
    Matcher m = JAVACPP_OPTION.matcher(opts.value());
    while (m.find()) {
      try {
        limits.put(m.group(1), org.bytedeco.javacpp.Pointer.parseBytes(m.group(2), heapMiB << 20) >> 20);
      } catch (NumberFormatException e) {
        return problems; // reported already
      }
    }
    Long maxBytes = limits.get("maxbytes");
    Long physical = limits.get("maxphysicalbytes");
    if (maxBytes == null || physical == null) {
      return problems;
    }
    if (physical < heapMiB + maxBytes) {
      problems.add(name + ": maxphysicalbytes " + physical + " MiB is less than spark.executor.memory + maxbytes = "
          + (heapMiB + maxBytes) + " MiB");
    }
    Setting overhead = settings.get("spark.executor.memoryOverhead");
    if (overhead != null) {
      long container = heapMiB + JavaUtils.byteStringAsMb(overhead.value());
      if (physical >= container) {
        problems.add(name + ": maxphysicalbytes " + physical + " MiB is not below the container's "
            + "spark.executor.memory + spark.executor.memoryOverhead = " + container + " MiB");
      }
    }
    return problems;
  }

  static List<String> checkClass(String at, String key, String className, Class<?> type) {
    try {
      Class<?> c = Class.forName(className, false, SparkDefaultsConfTest.class.getClassLoader());
      if (!type.isAssignableFrom(c)) {
        return List.of(at + className + " named by " + key + " is not a " + type.getName());
      }
      return List.of();
    } catch (ClassNotFoundException e) {
      return List.of(at + "class " + className + " named by " + key + " is not on the classpath (the deepens jar)");
    }
  }

  /** The keys spark-submit's launcher names as constants (spark.master and others without a config entry). */
  static List<String> launcherKeys() {
    List<String> keys = new ArrayList<>();
    for (java.lang.reflect.Field f : SparkLauncher.class.getFields()) {
      if (f.getType() == String.class && java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
        try {
          String v = (String) f.get(null);
          if (v != null && v.startsWith("spark.")) {
            keys.add(v);
          }
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return keys;
  }

  static void loadSparkConfigEntries() {
    for (String c : CONFIG_OBJECTS) {
      try {
        Class.forName(c, true, SparkDefaultsConfTest.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("Spark's configuration object " + c + " is missing: is the Spark version "
            + "still 3.5, with spark-yarn and spark-kubernetes on the test classpath?", e);
      }
    }
  }

  /** The known key closest to {@code key} by edit distance, if it is within 3 edits. */
  static String nearest(String key) {
    String best = null;
    int bestDistance = 4;
    List<String> known = new ArrayList<>(ConfigEntry$.MODULE$.knownConfigs().keySet());
    known.addAll(launcherKeys());
    for (String k : known) {
      int d = editDistance(key, k, bestDistance);
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return best;
  }

  static int editDistance(String a, String b, int cap) {
    if (Math.abs(a.length() - b.length()) >= cap) {
      return cap;
    }
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
