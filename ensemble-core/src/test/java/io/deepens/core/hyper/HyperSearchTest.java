package io.deepens.core.hyper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.deepens.core.InvalidInputException;
import io.deepens.core.random.SeedPurpose;
import io.deepens.core.random.Seeds;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.HyperDeepSpec;
import io.deepens.core.spec.SpecLoader;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The {@code ensemble.hyperDeep} section and the candidates' hyperparameter draws. */
class HyperSearchTest {
  static final String BASE = """
      name: hyper-test
      task: classification
      data: {features: features, label: label, classes: 8, key: id}
      network: {type: mlp, hidden: [64, 64], dropout: 0.0}
      training: {learningRate: 0.003, weightDecay: 0.0001, epochs: 3}
      ensemble:
        members: 3
        seed: %d
      %s
      """;

  static EnsembleSpec spec(long seed, String hyper) {
    return SpecLoader.parse(BASE.formatted(seed, hyper.indent(2).stripTrailing()), "test");
  }

  static final String SEARCH = """
      hyperDeep:
        pool: %d
        search:
          learningRate: {logUniform: [0.0003, 0.003]}
          weightDecay: {logUniform: [1.0e-6, 1.0e-3]}
          dropout: {uniform: [0.0, 0.3]}
          hidden: {choice: [200, 300]}
        selection: greedy
      """;

  @Test
  void drawsAreDeterministicPerSeedWithinTheirRangesAndFromTheDocumentedUniforms() {
    EnsembleSpec s = spec(42, SEARCH.formatted(12));
    List<HyperSearch.Candidate> pool = HyperSearch.pool(s);
    assertEquals(pool, HyperSearch.pool(spec(42, SEARCH.formatted(12))), "same seed, same candidates");
    assertNotEquals(pool, HyperSearch.pool(spec(43, SEARCH.formatted(12))), "another seed, other candidates");
    assertEquals(3, s.ensemble().hyperDeep().selectionSize(), "selectionSize defaults to ensemble.members");
    for (HyperSearch.Candidate c : pool) {
      // recomputed from the documented recipe: four uniforms from derive(seed, c, HYPER_SEARCH, 0)
      SplittableRandom r = new SplittableRandom(Seeds.derive(42, c.candidate(), SeedPurpose.HYPER_SEARCH, 0));
      double u1 = r.nextDouble();
      double u2 = r.nextDouble();
      double u3 = r.nextDouble();
      double u4 = r.nextDouble();
      assertEquals(0.0003 * Math.pow(10, u1), c.learningRate(), 1e-15, "log-uniform over one decade");
      assertEquals(1e-6 * Math.pow(1000, u2), c.weightDecay(), 1e-18, "log-uniform over three decades");
      assertEquals(0.3 * u3, c.dropout(), 1e-15);
      assertEquals(List.of(u4 < 0.5 ? 200 : 300, u4 < 0.5 ? 200 : 300), c.hidden());
      assertTrue(c.learningRate() >= 0.0003 && c.learningRate() <= 0.003);
      assertTrue(c.weightDecay() >= 1e-6 && c.weightDecay() <= 1e-3);
      assertTrue(c.dropout() >= 0 && c.dropout() < 0.3);
      EnsembleSpec cs = c.apply(s);
      assertEquals(c.learningRate(), cs.training().learningRate());
      assertEquals(c.weightDecay(), cs.training().weightDecay());
      assertEquals(c.dropout(), cs.network().dropout());
      assertEquals(c.hidden(), cs.network().hidden());
      assertNull(cs.ensemble().hyperDeep(), "a candidate trains as one plain member");
      assertEquals(12 + 3, cs.ensemble().members(), "member slots: K candidates + M retrained members");
      assertEquals(s.ensemble().seed(), cs.ensemble().seed());
    }
  }

  @Test
  void logUniformDrawsAreUniformInTheLogarithm() {
    // 4000 candidates: the share of learning rates below the geometric mean sqrt(0.0003 * 0.003) is 1/2 for a
    // log-uniform draw (0.226 for a uniform one); binomial standard deviation sqrt(0.25 / 4000) = 0.0079, 5 sigma
    List<HyperSearch.Candidate> pool = HyperSearch.pool(spec(7, SEARCH.formatted(4000)));
    double geo = Math.sqrt(0.0003 * 0.003);
    double below = pool.stream().filter(c -> c.learningRate() < geo).count() / 4000.0;
    assertEquals(0.5, below, 5 * Math.sqrt(0.25 / 4000));
    double lowDecade = pool.stream().filter(c -> c.weightDecay() < 1e-5).count() / 4000.0;
    assertEquals(1 / 3.0, lowDecade, 5 * Math.sqrt(2 / 9.0 / 4000), "one decade of three");
    double wide = pool.stream().filter(c -> c.hidden().get(0) == 300).count() / 4000.0;
    assertEquals(0.5, wide, 5 * Math.sqrt(0.25 / 4000));
  }

  @Test
  void unsearchedHyperparametersKeepTheSpecsValuesAndDoNotShiftTheOthers() {
    EnsembleSpec all = spec(42, SEARCH.formatted(5));
    EnsembleSpec lrOnly = spec(42, """
        hyperDeep:
          pool: 5
          search:
            learningRate: {logUniform: [0.0003, 0.003]}
        """);
    for (int c = 0; c < 5; c++) {
      HyperSearch.Candidate a = HyperSearch.draw(all, c);
      HyperSearch.Candidate b = HyperSearch.draw(lrOnly, c);
      assertEquals(a.learningRate(), b.learningRate(), 0.0);
      assertEquals(0.0001, b.weightDecay(), 0.0);
      assertEquals(0.0, b.dropout(), 0.0);
      assertEquals(List.of(64, 64), b.hidden());
    }
  }

  @Test
  void theSectionRoundTripsAndItsAbsenceLeavesTheCanonicalJsonAsBefore() {
    EnsembleSpec s = spec(42, SEARCH.formatted(6));
    assertEquals(s, EnsembleSpec.fromJson(s.toJson()));
    assertTrue(s.toJson().contains("\"hyperDeep\":{\"pool\":6,\"search\":{\"learningRate\":{\"logUniform\":"
        + "[3.0E-4,0.003]}"), s.toJson());
    EnsembleSpec plain = spec(42, "");
    assertTrue(!plain.toJson().contains("hyperDeep"), plain.toJson());
    assertEquals(plain.withMembers(3).toJson(), plain.toJson());
    assertEquals(s.ensemble().hyperDeep(), s.withMembers(7).ensemble().hyperDeep(), "--members keeps the search");
  }

  static String error(String hyper) {
    String m = assertThrows(InvalidInputException.class, () -> spec(1, hyper)).getMessage();
    assertTrue(m.startsWith("test: "), m);
    return m.substring("test: ".length());
  }

  @Test
  void badSectionsFailNamingTheKeyAndTheRule() {
    assertEquals("ensemble.hyperDeep.pool must be >= 2 (one candidate is no search), found 1",
        error("hyperDeep: {pool: 1, search: {learningRate: {uniform: [0.001, 0.002]}}}"));
    assertEquals("ensemble.hyperDeep.search must be given",
        error("hyperDeep: {pool: 3}"));
    assertEquals("ensemble.hyperDeep.search.weightDecay.logUniform needs low > 0 (a log-uniform range), found 0.0; "
            + "use uniform for a range that starts at 0",
        error("hyperDeep: {pool: 3, search: {weightDecay: {logUniform: [0.0, 0.01]}}}"));
    assertEquals("ensemble.hyperDeep.search.learningRate.uniform[0] must be > 0 (as learningRate), found 0.0",
        error("hyperDeep: {pool: 3, search: {learningRate: {uniform: [0.0, 0.01]}}}"));
    assertEquals("ensemble.hyperDeep.search.dropout.uniform[1] must be in [0, 1) (as dropout), found 1.0",
        error("hyperDeep: {pool: 3, search: {dropout: {uniform: [0.0, 1.0]}}}"));
    assertEquals("ensemble.hyperDeep.search.weightDecay must have exactly one of logUniform, uniform, choice, found "
            + "[logUniform, uniform]",
        error("hyperDeep: {pool: 3, search: {weightDecay: {logUniform: [1.0e-6, 1.0e-3], uniform: [0, 1]}}}"));
    assertEquals("ensemble.hyperDeep.search.hidden.choice[1] must be an integer (a layer width), found 2.5",
        error("hyperDeep: {pool: 3, search: {hidden: {choice: [2, 2.5]}}}"));
    assertEquals("ensemble.hyperDeep.search.learningRate.uniform must be [low, high] with low <= high, found "
            + "[0.01, 0.001]",
        error("hyperDeep: {pool: 3, search: {learningRate: {uniform: [0.01, 0.001]}}}"));
    assertEquals("ensemble.hyperDeep.selection must be greedy (Caruana et al. 2004, with replacement, on validation "
            + "NLL), found \"stacking\"",
        error("hyperDeep: {pool: 3, selection: stacking, search: {dropout: {uniform: [0.0, 0.2]}}}"));
    assertTrue(error("hyperDeep: {pool: 3, search: {momentum: {uniform: [0.0, 0.2]}}}")
        .startsWith("ensemble.hyperDeep.search.momentum is not a known key; allowed keys under "
            + "ensemble.hyperDeep.search: dropout, hidden, learningRate, weightDecay"));
    assertEquals("ensemble.hyperDeep.search must name at least one of learningRate, weightDecay, dropout, hidden",
        error("hyperDeep: {pool: 3, search: {}}"));
  }

  @Test
  void crossSectionRulesAreChecked() {
    String mc = """
        name: hyper-test
        task: classification
        data: {features: features, label: label, classes: 8}
        network: {type: mlp, hidden: [16], dropout: 0.1}
        training: {learningRate: 0.003, schedule: {type: cosine, minLearningRate: 0.0005}}
        ensemble:
          members: 2
          mcDropoutSamples: 4
          hyperDeep: {pool: 3, search: {%s}}
        """;
    assertEquals("t: ensemble.mcDropoutSamples = 4 needs network.dropout > 0 in every candidate, but "
            + "ensemble.hyperDeep.search.dropout can draw 0.0",
        assertThrows(InvalidInputException.class, () -> SpecLoader.parse(mc.formatted(
            "dropout: {uniform: [0.0, 0.2]}"), "t")).getMessage());
    assertEquals("t: ensemble.hyperDeep.search.learningRate can draw 3.0E-4, which is not above "
            + "training.schedule.minLearningRate (5.0E-4): raise the range's low end or lower minLearningRate",
        assertThrows(InvalidInputException.class, () -> SpecLoader.parse(mc.formatted(
            "learningRate: {logUniform: [0.0003, 0.003]}"), "t")).getMessage());
    HyperDeepSpec ok = SpecLoader.parse(mc.formatted("dropout: {uniform: [0.05, 0.2]}"), "t").ensemble().hyperDeep();
    assertEquals(2, ok.selectionSize());
  }
}
