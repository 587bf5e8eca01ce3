package io.deepens.core.train;

import java.io.InputStream;
import java.util.Properties;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Where and with what a member was trained: float results differ across platforms, backends and thread counts,
 * so every report carries them.
 *
 * @param specSha256 {@link io.deepens.core.spec.EnsembleSpec#sha256()}
 * @param deepensVersion deepens' version ({@link #buildVersion()})
 * @param dl4jVersion deeplearning4j-nn version
 * @param nd4jVersion nd4j-api version
 * @param javaVersion {@code java.version}
 * @param javaVendor {@code java.vendor}
 * @param os {@code os.name} and {@code os.version}
 * @param arch {@code os.arch}
 * @param nd4jBackend ND4J backend class
 * @param nd4jThreads ND4J's OpenMP threads while training
 */
public record Provenance(
    String specSha256,
    String deepensVersion,
    String dl4jVersion,
    String nd4jVersion,
    String javaVersion,
    String javaVendor,
    String os,
    String arch,
    String nd4jBackend,
    int nd4jThreads) {

  /** The provenance of this JVM now. */
  public static Provenance current(String specSha256) {
    return new Provenance(
        specSha256,
        buildVersion(),
        mavenVersion("org.deeplearning4j", "deeplearning4j-nn"),
        mavenVersion("org.nd4j", "nd4j-api"),
        System.getProperty("java.version"),
        System.getProperty("java.vendor"),
        System.getProperty("os.name") + " " + System.getProperty("os.version"),
        System.getProperty("os.arch"),
        Nd4j.getBackend().getClass().getName(),
        MemberTrainer.currentThreads());
  }

  /**
   * deepens' version: the jar manifest's {@code Implementation-Version} when a packager set one, else the project
   * version the build wrote into {@code io/deepens/core/version.properties}, else "unknown" (classes compiled
   * outside Maven).
   */
  public static String buildVersion() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    if (v != null && !v.isBlank()) {
      return v;
    }
    try (InputStream in = Provenance.class.getResourceAsStream("/io/deepens/core/version.properties")) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        String built = p.getProperty("version", "");
        if (!built.isBlank() && !built.startsWith("${")) {
          return built;
        }
      }
    } catch (java.io.IOException e) {
      // fall through
    }
    return "unknown";
  }

  private static String mavenVersion(String group, String artifact) {
    String path = "/META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = Provenance.class.getResourceAsStream(path)) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
