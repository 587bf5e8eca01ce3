package io.deepens.core.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@code messages/documents.txt} holds 74 spec documents (one valid base and mutations of every key: wrong types,
 * out-of-range values, unknown keys, missing keys, cross-section rules), separated by {@code ---8<---} lines;
 * {@code messages/expected.txt} what the spec loader answered to each before the spec records learned to read and
 * write themselves: the canonical JSON, or the exception and its message. Both must stay the same.
 */
class SpecMessagesStabilityTest {
  private static String resource(String name) throws IOException {
    try (InputStream in = SpecMessagesStabilityTest.class.getResourceAsStream("messages/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void everyDocumentGetsTheSameAnswerAsBefore() throws IOException {
    String[] docs = resource("documents.txt").split("\n---8<---\n");
    StringBuilder answers = new StringBuilder();
    for (int i = 0; i < docs.length; i++) {
      String out;
      try {
        out = "OK " + SpecLoader.parse(docs[i], "conf/x.yaml").toJson();
      } catch (RuntimeException e) {
        out = e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      answers.append(i).append('\t').append(out).append('\n');
    }
    assertEquals(74, docs.length);
    assertEquals(resource("expected.txt"), answers.toString());
  }
}
