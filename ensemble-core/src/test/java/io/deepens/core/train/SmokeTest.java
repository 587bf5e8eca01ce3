package io.deepens.core.train;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import org.junit.jupiter.api.Test;

class SmokeTest {
  @Test
  void smoke() {
    EnsembleSpec spec = SpecLoader.parse(Digits.yaml(
        "  type: mlp\n  hidden: [64]\n  dropout: 0.1\n",
        "  learningRate: 0.003\n  batchSize: 32\n  epochs: 5\n"), "test");
    long t0 = System.nanoTime();
    MemberResult r = MemberTrainer.train(spec, 0, Digits.train(), Digits.validation(), null,
        (m, e) -> System.out.println(e));
    System.out.println(r.report().status() + " " + (System.nanoTime() - t0) / 1e6 + " ms " + r.report().provenance());
  }
}
