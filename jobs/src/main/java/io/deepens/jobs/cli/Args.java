package io.deepens.jobs.cli;

import io.deepens.core.InvalidInputException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code --name value} and {@code --flag} options of one command, checked against the command's known options. */
public final class Args {
  private final String command;
  private final Map<String, List<String>> values = new LinkedHashMap<>();
  private final List<String> positional = new ArrayList<>();
  private final List<String> argv;

  private Args(String command, List<String> argv) {
    this.command = command;
    this.argv = argv;
  }

  /**
   * @param options known options taking a value
   * @param flags known options taking none
   */
  public static Args parse(String command, String[] argv, int from, Set<String> options, Set<String> flags) {
    Args a = new Args(command, List.of(java.util.Arrays.copyOfRange(argv, from, argv.length)));
    for (int i = from; i < argv.length; i++) {
      String s = argv[i];
      if (s.startsWith("--")) {
        String name = s.substring(2);
        String value = null;
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
        if (flags.contains(name)) {
          a.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
        } else if (options.contains(name)) {
          if (value == null) {
            if (i + 1 >= argv.length || argv[i + 1].startsWith("--")) {
              throw new InvalidInputException(command + ": option --" + name + " needs a value");
            }
            value = argv[++i];
          }
          a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        } else {
          List<String> known = new ArrayList<>();
          options.forEach(o -> known.add("--" + o));
          flags.forEach(f -> known.add("--" + f));
          java.util.Collections.sort(known);
          throw new InvalidInputException(command + ": unknown option " + s + "; known options: "
              + String.join(" ", known) + " (see 'deepens " + command + " --help')");
        }
      } else {
        a.positional.add(s);
      }
    }
    return a;
  }

  public String get(String name) {
    List<String> v = values.get(name);
    return v == null ? null : v.get(v.size() - 1);
  }

  public String get(String name, String fallback) {
    String v = get(name);
    return v == null ? fallback : v;
  }

  public List<String> all(String name) {
    return values.getOrDefault(name, List.of());
  }

  public String require(String name) {
    String v = get(name);
    if (v == null || v.isBlank()) {
      throw new InvalidInputException(command + ": --" + name + " is required (see 'deepens " + command
          + " --help')");
    }
    return v;
  }

  public boolean flag(String name) {
    return values.containsKey(name);
  }

  public Integer getInt(String name) {
    String v = get(name);
    if (v == null) {
      return null;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new InvalidInputException(command + ": --" + name + " must be a whole number, found '" + v + "'");
    }
  }

  /** The command's arguments as given on the command line (for provenance; may hold credentials). */
  public List<String> argv() {
    return argv;
  }

  public List<String> positional() {
    return positional;
  }

  /** {@code --conf key=value} pairs. */
  public Map<String, String> confs() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String kv : all("conf")) {
      int eq = kv.indexOf('=');
      if (eq <= 0) {
        throw new InvalidInputException(command + ": --conf takes key=value, found '" + kv + "'");
      }
      out.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return out;
  }
}
