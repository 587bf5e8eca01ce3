package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Kubernetes is configured, not run (no container runtime on the project's machines): this test keeps the three
 * files that configure it in agreement. {@code conf/k8s/Dockerfile} builds the image, {@code
 * conf/spark-defaults-k8s.conf} submits to it, {@code conf/k8s/executor-pod-template.yaml} shapes the executor pods.
 * Every path the configuration names inside the image must be one the Dockerfile puts there, from a file that
 * exists in this checkout; the main class and registrator must exist; the GPU request of the pod template must be
 * the one Spark derives from the GPU settings (amount and vendor).
 */
class KubernetesConfigTest {
  static final Path ROOT = Path.of(EndToEndTest.ROOT);
  static final Path DOCKERFILE = ROOT.resolve("conf/k8s/Dockerfile");
  static final Path POD_TEMPLATE = ROOT.resolve("conf/k8s/executor-pod-template.yaml");
  static final Path DEFAULTS = ROOT.resolve("conf/spark-defaults-k8s.conf");
  static final Pattern IMAGE_PATH = Pattern.compile("(?:local://)?(/opt/deepens/[A-Za-z0-9._/-]+)");

  /** The Dockerfile's COPY lines as image path -> source path in the checkout (ARG defaults substituted). */
  static Map<String, String> copies() throws IOException {
    Map<String, String> args = new LinkedHashMap<>();
    Map<String, String> copies = new LinkedHashMap<>();
    for (String raw : Files.readAllLines(DOCKERFILE)) {
      String line = raw.strip();
      Matcher arg = Pattern.compile("ARG (\\w+)=(\\S+)").matcher(line);
      if (arg.matches()) {
        args.put(arg.group(1), arg.group(2));
      }
      if (line.startsWith("COPY ")) {
        String[] parts = line.substring(5).strip().split("\\s+");
        assertEquals(2, parts.length, "one source and one target per COPY: " + line);
        String source = parts[0];
        for (Map.Entry<String, String> a : args.entrySet()) {
          source = source.replace("${" + a.getKey() + "}", a.getValue());
        }
        copies.put(parts[1], source);
      }
    }
    return copies;
  }

  /** The checkout file that ends up at {@code imagePath} in the image, or null when no COPY puts one there. */
  static Path sourceOf(String imagePath, Map<String, String> copies) {
    for (Map.Entry<String, String> c : copies.entrySet()) {
      String target = c.getKey();
      if (target.endsWith("/") && (imagePath + "/").startsWith(target)) { // a folder copied whole
        String rest = (imagePath + "/").substring(target.length());
        return ROOT.resolve(c.getValue()).resolve(rest.isEmpty() ? "." : rest).normalize();
      }
      if (imagePath.equals(target)) {
        return ROOT.resolve(c.getValue());
      }
    }
    return null;
  }

  /** Every setting of the defaults file, optional ones ({@code #spark.key value}) included. */
  static Map<String, String> settings() throws IOException {
    List<String> problems = new ArrayList<>();
    Map<String, String> out = new LinkedHashMap<>();
    for (SparkDefaultsConfTest.Setting s : SparkDefaultsConfTest.parse(DEFAULTS.toString(),
        Files.readString(DEFAULTS), problems)) {
      out.put(s.key(), s.value());
    }
    assertEquals(List.of(), problems);
    return out;
  }

  @Test
  void everyImagePathTheConfigurationNamesIsCopiedIntoTheImageFromAFileThatExists() throws IOException {
    Map<String, String> copies = copies();
    List<String> mentioned = new ArrayList<>();
    Matcher m = IMAGE_PATH.matcher(Files.readString(DEFAULTS));
    while (m.find()) {
      mentioned.add(m.group(1));
    }
    // the example command in the header names the jar and a spec; the settings name the scripts and the template
    assertTrue(mentioned.contains("/opt/deepens/deepens-jobs-all.jar"), "the example submits the image's jar");
    assertTrue(mentioned.contains("/opt/deepens/conf/gpu-discovery.sh"));
    assertTrue(mentioned.contains("/opt/deepens/conf/k8s/executor-pod-template.yaml"));
    for (String path : mentioned) {
      Path source = sourceOf(path, copies);
      assertNotNull(source, path + " is named in " + DEFAULTS + " but no COPY in " + DOCKERFILE + " puts it there");
      if (!path.endsWith(".jar")) { // the jar is built by `mvn package`; the rest is in the checkout
        assertTrue(Files.exists(source), path + " comes from " + source + ", which does not exist");
      }
    }
    assertEquals("jobs/target/deepens-jobs-0.1.0-SNAPSHOT-all.jar", copies.get("/opt/deepens/deepens-jobs-all.jar"),
        "the image takes the shaded jar the build makes");
  }

  @Test
  void theImageTheDefaultsNameIsTheOneTheDockerfileSaysToBuildOnSparks35Java17Image() throws IOException {
    String dockerfile = Files.readString(DOCKERFILE);
    String image = settings().get("spark.kubernetes.container.image");
    assertNotNull(image);
    assertTrue(dockerfile.contains("docker build -f conf/k8s/Dockerfile -t " + image + " ."),
        "the Dockerfile's build command tags " + image);
    Matcher base = Pattern.compile("ARG SPARK_IMAGE=apache/spark:(3\\.5\\.\\d+)-scala2\\.12-java17-ubuntu")
        .matcher(dockerfile);
    assertTrue(base.find(), "the base is Spark's official 3.5 image for Scala 2.12 and Java 17");
    assertTrue(dockerfile.contains("USER 185"), "the image keeps Spark's unprivileged user");
  }

  @Test
  void theClassesTheDefaultsAndTheExampleNameExist() throws Exception {
    String defaults = Files.readString(DEFAULTS);
    assertTrue(defaults.contains("--class " + Main.class.getName()));
    Class.forName(settings().get("spark.kryo.registrator"));
    Class.forName(settings().get("spark.serializer"));
  }

  @Test
  void thePodTemplateAsksForTheGpusSparkAsksForAndNamesTheExecutorContainer() throws IOException {
    Map<String, String> s = settings();
    JsonNode pod = new ObjectMapper(new YAMLFactory()).readTree(POD_TEMPLATE.toFile());
    assertEquals("Pod", pod.path("kind").asText());
    String containerName = s.get("spark.kubernetes.executor.podTemplateContainerName");
    JsonNode container = null;
    for (JsonNode c : pod.path("spec").path("containers")) {
      if (c.path("name").asText().equals(containerName)) {
        container = c;
      }
    }
    assertNotNull(container, "the template has the container " + containerName + " that the defaults name");
    String gpuResource = s.get("spark.executor.resource.gpu.vendor") + "/gpu"; // how Spark names it on Kubernetes
    assertEquals("nvidia.com/gpu", gpuResource);
    JsonNode limit = container.path("resources").path("limits").path(gpuResource);
    assertFalse(limit.isMissingNode(), "the executor container's limits hold " + gpuResource);
    assertEquals(Integer.parseInt(s.get("spark.executor.resource.gpu.amount")), limit.asInt(),
        "the pod template's GPU limit is spark.executor.resource.gpu.amount");
    assertEquals("true", pod.path("spec").path("nodeSelector").path("nvidia.com/gpu.present").asText(),
        "executors land on GPU nodes");
    boolean tolerated = false;
    for (JsonNode t : pod.path("spec").path("tolerations")) {
      tolerated |= t.path("key").asText().equals(gpuResource);
    }
    assertTrue(tolerated, "executors tolerate the GPU nodes' taint " + gpuResource);
  }
}
