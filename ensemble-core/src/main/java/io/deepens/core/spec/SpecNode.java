package io.deepens.core.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.deepens.core.InvalidInputException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * A mapping of a spec document at a key path (e.g. {@code training.schedule}) with its allowed keys, read by the spec
 * records ({@code read} methods): typed getters whose errors name the key path, the value found and the rule.
 * Unknown keys are refused when the node is opened, with the list of allowed keys.
 */
final class SpecNode {
  private final JsonNode node;
  private final String path;
  private final Set<String> allowed;

  SpecNode(JsonNode node, String path, List<String> allowed) {
    this.path = path;
    this.allowed = new LinkedHashSet<>(allowed);
    if (node == null || node.isNull() || node.isMissingNode()) {
      node = JsonNodeFactory.instance.objectNode();
    }
    if (!node.isObject()) {
      throw new InvalidInputException(
          (path.isEmpty() ? "the document" : path) + " must be a mapping of keys " + new TreeSet<>(this.allowed)
              + ", found " + show(node));
    }
    this.node = node;
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!this.allowed.contains(k)) {
        throw new InvalidInputException(
            child(k) + " is not a known key; allowed keys " + (path.isEmpty() ? "at the top level" : "under " + path)
                + ": " + String.join(", ", new TreeSet<>(this.allowed)));
      }
    }
  }

  String child(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  boolean has(String key) {
    JsonNode v = node.get(key);
    return v != null && !v.isNull();
  }

  JsonNode get(String key) {
    return node.get(key);
  }

  void require(String key) {
    if (!has(key)) {
      throw new InvalidInputException(child(key) + " must be given");
    }
  }

  /** The mapping under {@code key} (an empty one when absent), with its allowed keys. */
  SpecNode obj(String key, List<String> allowedKeys) {
    JsonNode v = node.get(key);
    if (v != null && !v.isNull() && !v.isObject()) {
      throw typeError(key, "a mapping of keys " + new TreeSet<>(allowedKeys), v);
    }
    return new SpecNode(v, child(key), allowedKeys);
  }

  /** True when {@code key} is absent (or null); then an error if it is required. */
  private boolean absent(String key, boolean required) {
    if (has(key)) {
      return false;
    }
    if (required) {
      require(key);
    }
    return true;
  }

  InvalidInputException typeError(String key, String expected, JsonNode found) {
    return new InvalidInputException(child(key) + " must be " + expected + ", found " + show(found));
  }

  String string(String key, String def, boolean required) {
    if (absent(key, required)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isTextual()) {
      throw typeError(key, "a string", v);
    }
    return v.textValue();
  }

  int integer(String key, int def, boolean required) {
    long l = integral(key, def, required);
    if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
      throw typeError(key, "an integer of at most 10 digits", node.get(key));
    }
    return (int) l;
  }

  long lng(String key, long def) {
    return integral(key, def, false);
  }

  private long integral(String key, long def, boolean required) {
    if (absent(key, required)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isIntegralNumber() || !v.canConvertToLong()) {
      throw typeError(key, "an integer", v);
    }
    return v.longValue();
  }

  double dbl(String key, double def, boolean required) {
    if (absent(key, required)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isNumber()) {
      throw typeError(key, "a number", v);
    }
    return v.doubleValue();
  }

  boolean bool(String key, boolean def) {
    if (!has(key)) {
      return def;
    }
    JsonNode v = node.get(key);
    if (!v.isBoolean()) {
      throw typeError(key, "true or false", v);
    }
    return v.booleanValue();
  }

  <E extends Enum<E>> E choice(String key, Class<E> type, E def, boolean required) {
    List<String> words = new ArrayList<>();
    for (E e : type.getEnumConstants()) {
      words.add(word(e));
    }
    if (!has(key)) {
      if (required) {
        throw new InvalidInputException(child(key) + " must be given: one of " + String.join(" | ", words));
      }
      return def;
    }
    JsonNode v = node.get(key);
    if (v.isTextual()) {
      String s = v.textValue().trim().toLowerCase(Locale.ROOT);
      for (E e : type.getEnumConstants()) {
        if (word(e).equals(s)) {
          return e;
        }
      }
    }
    throw typeError(key, "one of " + String.join(" | ", words), v);
  }

  List<Integer> intList(String key) {
    JsonNode v = node.get(key);
    if (!v.isArray()) {
      throw typeError(key, "a list of integers", v);
    }
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      JsonNode x = v.get(i);
      if (!x.isIntegralNumber() || !x.canConvertToInt()) {
        throw new InvalidInputException(child(key) + "[" + i + "] must be an integer, found " + show(x));
      }
      out.add(x.intValue());
    }
    return out;
  }

  List<String> stringOrStringList(String key) {
    require(key);
    JsonNode v = node.get(key);
    if (v.isTextual()) {
      return List.of(v.textValue());
    }
    if (!v.isArray()) {
      throw typeError(key, "a column name or a list of column names", v);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isTextual()) {
        throw new InvalidInputException(child(key) + "[" + i + "] must be a string, found " + show(v.get(i)));
      }
      out.add(v.get(i).textValue());
    }
    return out;
  }

  /**
   * Opens each item of the list under {@code key} as a mapping with {@code allowedKeys} at path {@code key[i]} and
   * hands it to {@code action}, one item after the other.
   */
  void forEachObject(String key, String expected, List<String> allowedKeys, Consumer<SpecNode> action) {
    JsonNode arr = node.get(key);
    if (!arr.isArray()) {
      throw typeError(key, expected, arr);
    }
    for (int i = 0; i < arr.size(); i++) {
      action.accept(new SpecNode(arr.get(i), child(key) + "[" + i + "]", allowedKeys));
    }
  }

  static String word(Enum<?> e) {
    if (e instanceof Weighting w) {
      return w.key();
    }
    if (e instanceof NetworkType t) {
      return t.key();
    }
    return e.name().toLowerCase(Locale.ROOT);
  }

  static String show(JsonNode v) {
    String s = v.isTextual() ? "\"" + v.textValue() + "\"" : v.toString();
    return s.length() > 80 ? s.substring(0, 77) + "..." : s;
  }
}
