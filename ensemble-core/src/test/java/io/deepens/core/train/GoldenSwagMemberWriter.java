package io.deepens.core.train;

import io.deepens.core.network.MemberNetwork;
import io.deepens.core.spec.EnsembleSpec;
import io.deepens.core.spec.SpecLoader;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Writes {@code member-swag-v2.zip} for {@link GoldenFilesTest} (run only with {@code -Ddeepens.writeGolden=DIR}):
 * member 0 of {@link GoldenFilesTest#SWAG_YAML} trained on the first 200 digits training rows with its SWAG moments,
 * and prints the SWA parameters' SHA-256, then per SWAG draw (ensemble seed 13) its parameters' SHA-256 and its
 * probabilities on the first 2 validation rows, which the test keeps as literals. The committed file was written
 * by this code compiled against the build of commit 489721e (before batch-norm SWAG); the file is the record.
 */
class GoldenSwagMemberWriter {
  @Test
  void write() throws Exception {
    String dir = System.getProperty("deepens.writeGolden");
    Assumptions.assumeTrue(dir != null, "set -Ddeepens.writeGolden=DIR to write the golden SWAG member file");
    EnsembleSpec spec = SpecLoader.parse(GoldenFilesTest.SWAG_YAML, "golden");
    MemberResult r = MemberTrainer.train(spec, 0, Digits.part(false, 200), Digits.part(true, 30), null, null);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    MemberModels.write(r.network(), r.swag(), out);
    Files.write(Path.of(dir, "member-swag-v2.zip"), out.toByteArray());
    StringBuilder s = new StringBuilder("swa params " + MemberModels.paramsSha256(r.network()) + "\n");
    MemberNetwork[] draws = MemberModels.swagSamples(r.network(), r.swag(), 3, 1.0, 13, 0);
    TrainingSet v = Digits.part(true, 2);
    for (int d = 0; d < 3; d++) {
      s.append("sample ").append(d).append(' ').append(MemberModels.paramsSha256(draws[d])).append('\n');
      for (int i = 0; i < 2; i++) {
        for (float x : MemberModels.predict(draws[d], v.features(i), 1, 64)) {
          s.append(Float.toString(x)).append("f, ");
        }
        s.append('\n');
      }
    }
    Files.writeString(Path.of(dir, "member-swag-v2.txt"), s.toString());
  }
}
