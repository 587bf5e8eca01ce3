package io.deepens.core.train;

import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Writes {@code member-noswag-v1.zip} for {@link GoldenFilesTest} (run only with {@code -Ddeepens.writeGolden=DIR}):
 * member 0 of {@link GoldenFilesTest#NOSWAG_YAML} trained on the first 200 digits training rows, and prints its
 * probabilities on the first 3 validation rows, which the test keeps as literals. It was run on the build before
 * member files could hold SWAG moments; rerunning it on a later build is not the point (the file is the record).
 */
class GoldenMemberWriter {
  @Test
  void write() throws Exception {
    String dir = System.getProperty("deepens.writeGolden");
    Assumptions.assumeTrue(dir != null, "set -Ddeepens.writeGolden=DIR to write the golden member file");
    EnsembleSpec spec = SpecLoader.parse(GoldenFilesTest.NOSWAG_YAML, "golden");
    MemberResult r = MemberTrainer.train(spec, 0, Digits.part(false, 200), Digits.part(true, 30), null, null);
    byte[] bytes = MemberModels.toBytes(r.network());
    Files.write(Path.of(dir, "member-noswag-v1.zip"), bytes);
    TrainingSet v = Digits.part(true, 3);
    StringBuilder s = new StringBuilder("params " + MemberModels.paramsSha256(r.network()) + "\n");
    for (int i = 0; i < 3; i++) {
      float[] p = MemberModels.predict(r.network(), v.features(i), 1, 64);
      for (float x : p) {
        s.append(Float.toString(x)).append("f, ");
      }
      s.append('\n');
    }
    Files.writeString(Path.of(dir, "member-noswag-v1.txt"), s.toString());
  }
}
