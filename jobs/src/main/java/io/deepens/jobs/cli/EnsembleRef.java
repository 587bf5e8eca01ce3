package io.deepens.jobs.cli;

import io.deepens.core.InvalidInputException;

/** {@code STORE[#VERSION]}: a store URI and an optional version (LATEST when absent). */
public record EnsembleRef(String store, String version) {
  public static EnsembleRef parse(String s) {
    InvalidInputException.check(s != null && !s.isBlank(), "--ensemble needs STORE or STORE#VERSION");
    int hash = s.lastIndexOf('#');
    if (hash < 0) {
      return new EnsembleRef(s, null);
    }
    String v = s.substring(hash + 1);
    InvalidInputException.check(!v.isBlank(), "--ensemble '%s' ends with '#' but names no version", s);
    return new EnsembleRef(s.substring(0, hash), v);
  }
}
