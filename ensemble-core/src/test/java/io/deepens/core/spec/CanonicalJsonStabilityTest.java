package io.deepens.core.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The canonical JSON of a spec is fingerprinted into the manifest ({@link EnsembleSpec#sha256()}) and run ids, so
 * its bytes must not change when the code that writes it does. {@code canonical/<name>.json} holds the bytes the
 * spec loader wrote before the spec records learned to read and write themselves, for every {@code conf/*.yaml}
 * and for the variants under {@code variants/} (every schedule type, regression, dl4j-json, defaults only).
 */
class CanonicalJsonStabilityTest {
  private static Path resource(String name) {
    try {
      return Path.of(CanonicalJsonStabilityTest.class.getResource(name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static Stream<Path> specs() throws IOException {
    List<Path> all;
    try (Stream<Path> conf = SpecLoaderTest.examples(); Stream<Path> v = Files.list(resource("variants"))) {
      all = Stream.concat(conf, v.filter(f -> f.toString().endsWith(".yaml")).sorted()).toList();
    }
    assertTrue(all.size() >= 12, "conf examples and variants are found: " + all);
    return all.stream();
  }

  @ParameterizedTest
  @MethodSource("specs")
  void canonicalJsonIsByteIdenticalToTheRecordedOne(Path yaml) throws IOException {
    String name = yaml.getFileName().toString().replaceAll("\\.yaml$", ".json");
    String expected;
    try (InputStream in = CanonicalJsonStabilityTest.class.getResourceAsStream("canonical/" + name)) {
      assertTrue(in != null, "recorded canonical JSON canonical/" + name + " exists");
      expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    EnsembleSpec spec = SpecLoader.load(yaml);
    assertEquals(expected, spec.toJson());
    EnsembleSpec back = EnsembleSpec.fromJson(expected);
    assertEquals(spec, back);
    assertEquals(expected, back.toJson());
  }
}
