package io.deepens.jobs.commands;

import java.util.LinkedHashMap;
import java.util.Map;

/** Where a result came from: deepens and library versions, Java, OS, CPU and the command line. */
final class Provenance {
  private Provenance() {}

  static Map<String, Object> of(String command, String[] argv) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("deepensVersion", version());
    p.put("command", command);
    p.put("arguments", argv == null ? java.util.List.of() : java.util.List.of(argv));
    p.put("javaVersion", System.getProperty("java.version"));
    p.put("javaVendor", System.getProperty("java.vendor"));
    p.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    p.put("arch", System.getProperty("os.arch"));
    p.put("availableProcessors", Runtime.getRuntime().availableProcessors());
    p.put("user", System.getProperty("user.name"));
    return p;
  }

  static String version() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }
}
