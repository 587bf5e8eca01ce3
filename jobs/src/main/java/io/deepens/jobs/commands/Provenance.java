package io.deepens.jobs.commands;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a result came from: deepens and library versions, Java, OS, CPU and the command line it was run with.
 *
 * <p>The command line is recorded as given, except credentials: the value of a {@code --conf KEY=VALUE} whose key
 * looks like one (it contains secret, password, passwd, token, credential or key, case-insensitive, as in
 * {@code spark.hadoop.fs.s3a.secret.key} or {@code fs.azure.account.key...}) becomes {@value #REDACTED}, and so
 * does the password of a {@code scheme://user:password@host} URI anywhere on the line.
 */
final class Provenance {
  static final String REDACTED = "<redacted>";
  private static final Pattern SECRET_KEY =
      Pattern.compile("secret|password|passwd|token|credential|key", Pattern.CASE_INSENSITIVE);
  private static final Pattern URI_PASSWORD = Pattern.compile("(://[^/@:\\s]+):[^/@\\s]*@");

  private Provenance() {}

  static Map<String, Object> of(String command, List<String> argv) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("deepensVersion", version());
    p.put("command", command);
    p.put("arguments", argv == null ? List.of() : redact(argv));
    p.put("javaVersion", System.getProperty("java.version"));
    p.put("javaVendor", System.getProperty("java.vendor"));
    p.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    p.put("arch", System.getProperty("os.arch"));
    p.put("availableProcessors", Runtime.getRuntime().availableProcessors());
    p.put("user", System.getProperty("user.name"));
    return p;
  }

  static String version() {
    return io.deepens.core.train.Provenance.buildVersion();
  }

  /** The command line with credential values replaced (see the class comment). */
  static List<String> redact(List<String> argv) {
    List<String> out = new ArrayList<>(argv.size());
    for (int i = 0; i < argv.size(); i++) {
      String s = argv.get(i);
      if (s.equals("--conf") && i + 1 < argv.size()) {
        out.add(s);
        out.add(redactPair(argv.get(++i)));
      } else if (s.startsWith("--conf=")) {
        out.add("--conf=" + redactPair(s.substring("--conf=".length())));
      } else {
        out.add(redactUri(s));
      }
    }
    return out;
  }

  private static String redactPair(String kv) {
    int eq = kv.indexOf('=');
    if (eq <= 0) {
      return redactUri(kv);
    }
    String key = kv.substring(0, eq);
    return SECRET_KEY.matcher(key.toLowerCase(Locale.ROOT)).find() ? key + "=" + REDACTED
        : key + "=" + redactUri(kv.substring(eq + 1));
  }

  private static String redactUri(String s) {
    return URI_PASSWORD.matcher(s).replaceAll("$1:" + Matcher.quoteReplacement(REDACTED) + "@");
  }
}
