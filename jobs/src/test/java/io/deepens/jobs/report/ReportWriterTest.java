package io.deepens.jobs.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.deepens.core.InvalidInputException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern DATA_VALUE = Pattern.compile("data-key=\"([^\"]+)\" data-value=\"([^\"]+)\"");
  private static final List<String> METRIC_KEYS = List.of("accuracy", "nll", "brier", "ece");
  private static final List<String> OOD_KEYS = List.of("auroc_entropy", "auroc_mi", "aupr_entropy");

  @TempDir
  Path tmp;

  @Test
  void writesEveryPromisedFileAndChartsDecode() throws IOException {
    Path dir = tmp.resolve("reports/fashion");
    ReportWriter.write(SyntheticReports.withOod(), dir);

    for (String png : List.of(ReportWriter.RELIABILITY_PNG, ReportWriter.ENTROPY_PNG, ReportWriter.MI_PNG,
        ReportWriter.ROC_PNG)) {
      BufferedImage image = ImageIO.read(dir.resolve(png).toFile());
      assertNotNull(image, png + " must decode as an image");
      assertEquals(ReportCharts.WIDTH, image.getWidth(), png);
      assertEquals(ReportCharts.HEIGHT, image.getHeight(), png);
      assertTrue(distinctColours(image) > 10, png + " must not be blank");
    }
    String html = Files.readString(dir.resolve(ReportWriter.INDEX_HTML));
    for (String png : List.of(ReportWriter.RELIABILITY_PNG, ReportWriter.ENTROPY_PNG, ReportWriter.MI_PNG,
        ReportWriter.ROC_PNG)) {
      assertTrue(html.contains("src=\"" + png + "\""), "index.html must show " + png);
    }
    assertFalse(html.contains("<script"), "the page needs no JavaScript");
    assertFalse(html.contains("http://") || html.contains("https://"), "the page must not reach the network");
    assertTrue(html.contains("&lt;synthetic &amp; escaped&gt;"), "provenance must be HTML-escaped");
    try (Stream<Path> siblings = Files.list(dir.getParent())) {
      assertEquals(List.of(dir), siblings.toList(), "no temporary folder may be left beside the report");
    }
  }

  @Test
  void metricsJsonHoldsTheInputNumbersExactly() throws IOException {
    EvaluationReport report = SyntheticReports.withOod();
    Path dir = tmp.resolve("r");
    ReportWriter.write(report, dir);
    JsonNode root = JSON.readTree(dir.resolve(ReportWriter.METRICS_JSON).toFile());

    assertEquals("file:///store/fashion", root.get("ensemble_uri").asText());
    assertEquals("v-20261127-0001", root.get("version").asText());
    assertEquals(10_000L, root.get("test_rows").asLong());
    assertEquals(10_000L, root.get("ood_rows").asLong());
    assertMetrics(report.ensemble(), root.get("ensemble"));
    assertEquals(report.members().size(), root.get("members").size());
    for (int m = 0; m < report.members().size(); m++) {
      assertMetrics(report.members().get(m), root.get("members").get(m));
      assertEquals(report.weights()[m], root.get("weights").get(m).asDouble(), 0.0);
    }
    assertEquals(report.effectiveMembers(), root.get("effective_members").asDouble(), 0.0);
    assertEquals(report.temperature(), root.get("temperature").asDouble(), 0.0);
    JsonNode rel = root.get("reliability");
    for (int i = 0; i < report.reliabilityCount().length; i++) {
      assertEquals(report.reliabilityCount()[i], rel.get("count").get(i).asLong());
      assertEquals(report.reliabilityAccuracy()[i], rel.get("accuracy").get(i).asDouble(), 0.0);
      assertEquals(report.reliabilityConfidence()[i], rel.get("confidence").get(i).asDouble(), 0.0);
    }
    JsonNode entropy = root.get("histograms").get("entropy");
    assertEquals(report.histogramEdgesEntropy().length, entropy.get("edges").size());
    assertEquals(report.entropyOod()[7], entropy.get("ood").get(7).asLong());
    assertEquals(report.miTest()[3], root.get("histograms").get("mutual_information").get("test").get(3).asLong());
    assertEquals(report.rocMi().y()[10], root.get("roc").get("mutual_information").get("tpr").get(10).asDouble(), 0.0);
    assertEquals(42, root.get("provenance").get("seed").asInt());
  }

  @Test
  void indexHtmlShowsTheInputNumbersAndHighlightsTheBest() throws IOException {
    EvaluationReport report = SyntheticReports.withOod();
    Path dir = tmp.resolve("r");
    ReportWriter.write(report, dir);
    String html = Files.readString(dir.resolve(ReportWriter.INDEX_HTML));
    Map<String, String> values = dataValues(html);

    for (int m = 0; m < report.members().size(); m++) {
      assertHtmlMetrics(report.members().get(m), values, "member-" + m);
      assertEquals(report.weights()[m], Double.parseDouble(values.get("member-" + m + ".weight")), 0.0);
    }
    assertHtmlMetrics(report.ensemble(), values, "ensemble");
    assertEquals(report.testRows(), Long.parseLong(values.get("test-rows")));
    assertEquals(report.oodRows(), Long.parseLong(values.get("ood-rows")));
    assertEquals(report.temperature(), Double.parseDouble(values.get("temperature")), 0.0);
    for (int i = 0; i < report.reliabilityCount().length; i++) {
      assertEquals(report.reliabilityCount()[i], Long.parseLong(values.get("bin-" + i + ".count")));
    }
    // shown rounded to four decimals beside the exact value
    assertTrue(html.contains("data-key=\"ensemble.accuracy\" data-value=\"0.8923\">0.8923</td>"), html);

    // the ensemble wins every column but ECE, which member 2 wins (0.0198)
    for (String key : List.of("accuracy", "nll", "brier", "auroc_entropy", "auroc_mi", "aupr_entropy")) {
      assertTrue(html.contains("<td class=\"best\" data-key=\"ensemble." + key + "\""), "best " + key);
    }
    assertTrue(html.contains("<td class=\"best\" data-key=\"member-2.ece\""), "best ece");
    assertFalse(html.contains("<td class=\"best\" data-key=\"ensemble.ece\""), "ensemble ECE is not the best");
  }

  @Test
  void withoutOodThereAreNoOodKeysAndNoRocChart() throws IOException {
    Path dir = tmp.resolve("in-distribution-only");
    ReportWriter.write(SyntheticReports.withoutOod(), dir);
    JsonNode root = JSON.readTree(dir.resolve(ReportWriter.METRICS_JSON).toFile());
    assertTrue(root.get("ood_rows").isNull());
    assertTrue(root.get("temperature").isNull());
    for (JsonNode m : List.of(root.get("ensemble"), root.get("members").get(0))) {
      for (String key : METRIC_KEYS) {
        assertTrue(m.has(key), key);
      }
      for (String key : OOD_KEYS) {
        assertFalse(m.has(key), key + " must be absent without OOD");
      }
    }
    assertFalse(Files.exists(dir.resolve(ReportWriter.ROC_PNG)));
    assertNotNull(ImageIO.read(dir.resolve(ReportWriter.ENTROPY_PNG).toFile()));
    String html = Files.readString(dir.resolve(ReportWriter.INDEX_HTML));
    assertFalse(html.contains("AUROC"));
    assertTrue(html.contains("no OOD table given"));
  }

  @Test
  void rewritingReplacesTheWholeReport() throws IOException {
    Path dir = tmp.resolve("r");
    ReportWriter.write(SyntheticReports.withOod(), dir);
    Files.writeString(dir.resolve("stale.txt"), "from an older run");
    ReportWriter.write(SyntheticReports.withoutOod(), dir);
    assertFalse(Files.exists(dir.resolve("stale.txt")));
    assertFalse(Files.exists(dir.resolve(ReportWriter.ROC_PNG)), "the old report's ROC chart must be gone");
    try (Stream<Path> siblings = Files.list(tmp)) {
      assertEquals(List.of(dir), siblings.toList());
    }
  }

  /**
   * Renders the synthetic report into the folder named by the system property {@code deepens.report.sample}, for
   * a human to look at ({@code -Ddeepens.report.sample=/tmp/sample-report}); skipped without it.
   */
  @Test
  void rendersASampleForHumansWhenAsked() throws IOException {
    String sample = System.getProperty("deepens.report.sample");
    org.junit.jupiter.api.Assumptions.assumeTrue(sample != null, "set -Ddeepens.report.sample=DIR to render a sample");
    ReportWriter.write(SyntheticReports.withOod(), Path.of(sample));
  }

  @Test
  void aFailedRunLeavesThePreviousReportUntouched() throws IOException {
    Path dir = tmp.resolve("r");
    ReportWriter.write(SyntheticReports.withoutOod(), dir);
    String before = Files.readString(dir.resolve(ReportWriter.METRICS_JSON));

    EvaluationReport good = SyntheticReports.withOod();
    Map<String, Object> provenance = new HashMap<>(good.provenance());
    provenance.put("unserialisable", new Object()); // Jackson fails on it after the charts were drawn
    EvaluationReport bad = new EvaluationReport(good.ensembleUri(), good.version(), good.testRows(), good.oodRows(),
        good.ensemble(), good.members(), good.weights(), good.effectiveMembers(), good.temperature(),
        good.reliabilityBinLower(), good.reliabilityBinUpper(), good.reliabilityCount(), good.reliabilityConfidence(),
        good.reliabilityAccuracy(), good.histogramEdgesEntropy(), good.entropyTest(), good.entropyOod(),
        good.histogramEdgesMi(), good.miTest(), good.miOod(), good.rocEntropy(), good.rocMi(), provenance);
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> ReportWriter.write(bad, dir));
    assertTrue(e.getMessage().contains("provenance entry \"unserialisable\""), e.getMessage());

    assertEquals(before, Files.readString(dir.resolve(ReportWriter.METRICS_JSON)));
    assertFalse(Files.exists(dir.resolve(ReportWriter.ROC_PNG)));
    try (Stream<Path> siblings = Files.list(tmp)) {
      assertEquals(List.of(dir), siblings.toList(), "the staging folder must be removed");
    }
  }

  @Test
  void refusesAFileWhereTheFolderShouldBe() throws IOException {
    Path file = Files.writeString(tmp.resolve("report"), "not a folder");
    InvalidInputException e = assertThrows(InvalidInputException.class,
        () -> ReportWriter.write(SyntheticReports.withOod(), file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertEquals("not a folder", Files.readString(file));
  }

  @Test
  void inconsistentReportsAreRejectedWithAMessage() {
    EvaluationReport r = SyntheticReports.withOod();
    InvalidInputException e = assertThrows(InvalidInputException.class, () -> new EvaluationReport(
        r.ensembleUri(), r.version(), r.testRows(), r.oodRows(), r.ensemble(), r.members(), new double[] {0.5, 0.5},
        r.effectiveMembers(), r.temperature(), r.reliabilityBinLower(), r.reliabilityBinUpper(), r.reliabilityCount(),
        r.reliabilityConfidence(), r.reliabilityAccuracy(), r.histogramEdgesEntropy(), r.entropyTest(),
        r.entropyOod(), r.histogramEdgesMi(), r.miTest(), r.miOod(), r.rocEntropy(), r.rocMi(), r.provenance()));
    assertTrue(e.getMessage().contains("one entry per member (3)"), e.getMessage());
    // With an OOD table, entropy AUROC and AUPR are always set; AUROC(MI) may be null (a member without Monte
    // Carlo passes, whose mutual information is 0 on every row). Until MI AUROC became honest (null instead of 0.5
    // for such members), (0.8, null, 0.7) was rejected too.
    assertThrows(InvalidInputException.class, () -> new MetricSet(0.9, 0.3, 0.1, 0.01, 0.8, 0.6, null));
    assertThrows(InvalidInputException.class, () -> new MetricSet(0.9, 0.3, 0.1, 0.01, null, 0.6, null));
    assertThrows(InvalidInputException.class, () -> new MetricSet(0.9, 0.3, 0.1, 0.01, null, null, 0.7));
    MetricSet noMi = new MetricSet(0.9, 0.3, 0.1, 0.01, 0.8, null, 0.7);
    assertTrue(noMi.hasOod());
    assertFalse(noMi.hasAurocMi());
  }

  @Test
  void aMemberWithoutMutualInformationShowsNullAndNotApplicable() throws IOException {
    EvaluationReport r = SyntheticReports.withOod();
    List<MetricSet> members = new ArrayList<>();
    for (MetricSet m : r.members()) {
      members.add(new MetricSet(m.accuracy(), m.nll(), m.brier(), m.ece(), m.aurocEntropy(), null, m.auprEntropy()));
    }
    EvaluationReport noMemberMi = new EvaluationReport(r.ensembleUri(), r.version(), r.testRows(), r.oodRows(),
        r.ensemble(), members, r.weights(), r.effectiveMembers(), r.temperature(), r.reliabilityBinLower(),
        r.reliabilityBinUpper(), r.reliabilityCount(), r.reliabilityConfidence(), r.reliabilityAccuracy(),
        r.histogramEdgesEntropy(), r.entropyTest(), r.entropyOod(), r.histogramEdgesMi(), r.miTest(), r.miOod(),
        r.rocEntropy(), r.rocMi(), r.provenance());
    Path dir = tmp.resolve("no-member-mi");
    ReportWriter.write(noMemberMi, dir);
    JsonNode root = new ObjectMapper().readTree(dir.resolve("metrics.json").toFile());
    for (JsonNode m : root.get("members")) {
      assertTrue(m.has("auroc_mi") && m.get("auroc_mi").isNull(), m.toString());
      assertTrue(m.get("auroc_entropy").isNumber(), m.toString());
    }
    assertEquals(r.ensemble().aurocMi(), root.get("ensemble").get("auroc_mi").asDouble(), 0.0);
    String html = Files.readString(dir.resolve("index.html"));
    assertTrue(html.contains("data-key=\"member-0.auroc_mi\""), "member 0 has an AUROC(MI) cell");
    assertTrue(html.contains(">n/a</td>"), "shown as n/a");
    assertTrue(html.contains("<td class=\"best\" data-key=\"ensemble.auroc_mi\""), "the ensemble's is the best");
  }

  private static void assertMetrics(MetricSet expected, JsonNode node) {
    assertEquals(expected.accuracy(), node.get("accuracy").asDouble(), 0.0);
    assertEquals(expected.nll(), node.get("nll").asDouble(), 0.0);
    assertEquals(expected.brier(), node.get("brier").asDouble(), 0.0);
    assertEquals(expected.ece(), node.get("ece").asDouble(), 0.0);
    assertEquals(expected.aurocEntropy(), node.get("auroc_entropy").asDouble(), 0.0);
    assertEquals(expected.aurocMi(), node.get("auroc_mi").asDouble(), 0.0);
    assertEquals(expected.auprEntropy(), node.get("aupr_entropy").asDouble(), 0.0);
  }

  private static void assertHtmlMetrics(MetricSet expected, Map<String, String> values, String row) {
    assertEquals(expected.accuracy(), Double.parseDouble(values.get(row + ".accuracy")), 0.0, row);
    assertEquals(expected.nll(), Double.parseDouble(values.get(row + ".nll")), 0.0, row);
    assertEquals(expected.brier(), Double.parseDouble(values.get(row + ".brier")), 0.0, row);
    assertEquals(expected.ece(), Double.parseDouble(values.get(row + ".ece")), 0.0, row);
    assertEquals(expected.aurocEntropy(), Double.parseDouble(values.get(row + ".auroc_entropy")), 0.0, row);
    assertEquals(expected.aurocMi(), Double.parseDouble(values.get(row + ".auroc_mi")), 0.0, row);
    assertEquals(expected.auprEntropy(), Double.parseDouble(values.get(row + ".aupr_entropy")), 0.0, row);
  }

  private static Map<String, String> dataValues(String html) {
    Map<String, String> values = new HashMap<>();
    Matcher m = DATA_VALUE.matcher(html);
    while (m.find()) {
      assertEquals(null, values.put(m.group(1), m.group(2)), "duplicate data-key " + m.group(1));
    }
    return values;
  }

  private static int distinctColours(BufferedImage image) {
    java.util.Set<Integer> colours = new java.util.HashSet<>();
    for (int y = 0; y < image.getHeight(); y += 4) {
      for (int x = 0; x < image.getWidth(); x += 4) {
        colours.add(image.getRGB(x, y));
      }
    }
    return colours.size();
  }
}
