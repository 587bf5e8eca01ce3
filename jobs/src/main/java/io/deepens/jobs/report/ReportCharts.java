package io.deepens.jobs.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Builds the report's charts with XChart and saves them as PNG. */
final class ReportCharts {

  static final int WIDTH = 720;
  static final int HEIGHT = 480;

  private static final Color TEST = new Color(31, 119, 180);
  private static final Color OOD = new Color(214, 39, 40);
  private static final Color GREY = new Color(120, 120, 120);
  private static final Color GREEN = new Color(44, 160, 44);

  private ReportCharts() {}

  /** Reliability diagram: accuracy per confidence bin as bars, the bins' (confidence, accuracy) points, the diagonal. */
  static XYChart reliability(EvaluationReport r) {
    XYChart chart = base("Reliability diagram (ensemble, ECE " + format(r.ensemble().ece()) + ")",
        "confidence (top-class probability)", "accuracy");
    chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
    chart.getStyler().setLegendPosition(LegendPosition.InsideNW);

    List<Double> bx = new ArrayList<>();
    List<Double> by = new ArrayList<>();
    List<Double> px = new ArrayList<>();
    List<Double> py = new ArrayList<>();
    double[] lower = r.reliabilityBinLower();
    double[] upper = r.reliabilityBinUpper();
    for (int i = 0; i < lower.length; i++) {
      if (r.reliabilityCount()[i] == 0) {
        continue;
      }
      double acc = r.reliabilityAccuracy()[i];
      bx.add(lower[i]);
      by.add(0.0);
      bx.add(lower[i]);
      by.add(acc);
      bx.add(upper[i]);
      by.add(acc);
      bx.add(upper[i]);
      by.add(0.0);
      px.add(r.reliabilityConfidence()[i]);
      py.add(acc);
    }
    if (!bx.isEmpty()) {
      XYSeries bars = chart.addSeries("accuracy per bin", bx, by);
      bars.setXYSeriesRenderStyle(XYSeriesRenderStyle.Area);
      bars.setFillColor(new Color(TEST.getRed(), TEST.getGreen(), TEST.getBlue(), 110));
      bars.setLineColor(TEST);
      bars.setMarker(SeriesMarkers.NONE);
      XYSeries points = chart.addSeries("mean confidence vs accuracy", px, py);
      points.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
      points.setMarker(SeriesMarkers.CIRCLE);
      points.setMarkerColor(OOD);
    }
    diagonal(chart, "perfect calibration");
    return chart;
  }

  /** Histogram of an uncertainty score for test rows and, when present, OOD rows, as fractions of each set's rows. */
  static XYChart histogram(String title, String xTitle, double[] edges, long[] test, long[] ood) {
    XYChart chart = base(title, xTitle, "fraction of rows");
    chart.getStyler().setLegendPosition(LegendPosition.InsideNE);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setXAxisMin(edges[0]).setXAxisMax(edges[edges.length - 1]);
    addStepSeries(chart, "test (in-distribution)", edges, test, TEST);
    if (ood != null) {
      addStepSeries(chart, "out-of-distribution", edges, ood, OOD);
    }
    return chart;
  }

  /** ROC curves, OOD rows positive, scored by predictive entropy and by mutual information. */
  static XYChart roc(EvaluationReport r) {
    XYChart chart = base("ROC: detecting out-of-distribution rows (ensemble)", "false positive rate", "true positive rate");
    chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
    chart.getStyler().setLegendPosition(LegendPosition.InsideSE);
    if (r.rocEntropy() != null) {
      XYSeries s = chart.addSeries("predictive entropy (AUROC " + format(r.ensemble().aurocEntropy()) + ")",
          r.rocEntropy().x(), r.rocEntropy().y());
      s.setLineColor(TEST);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineWidth(2f);
    }
    if (r.rocMi() != null) {
      XYSeries s = chart.addSeries("mutual information (AUROC " + format(r.ensemble().aurocMi()) + ")",
          r.rocMi().x(), r.rocMi().y());
      s.setLineColor(GREEN);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineWidth(2f);
    }
    diagonal(chart, "chance");
    return chart;
  }

  static void savePng(XYChart chart, Path file) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
    }
  }

  static String format(Double value) {
    return value == null ? "n/a" : String.format(Locale.ROOT, "%.4f", value);
  }

  private static XYChart base(String title, String xTitle, String yTitle) {
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
        .title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    chart.getStyler().setPlotBackgroundColor(Color.WHITE);
    chart.getStyler().setPlotGridLinesColor(new Color(225, 225, 225));
    chart.getStyler().setLegendVisible(true);
    chart.getStyler().setLegendBorderColor(new Color(200, 200, 200));
    chart.getStyler().setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    chart.getStyler().setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
    chart.getStyler().setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    chart.getStyler().setDecimalPattern("0.###");
    chart.getStyler().setAntiAlias(true);
    return chart;
  }

  private static void diagonal(XYChart chart, String name) {
    XYSeries d = chart.addSeries(name, new double[] {0, 1}, new double[] {0, 1});
    d.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
    d.setLineColor(GREY);
    d.setMarker(SeriesMarkers.NONE);
    d.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
  }

  private static void addStepSeries(XYChart chart, String name, double[] edges, long[] counts, Color color) {
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    double[] x = new double[2 * counts.length + 2];
    double[] y = new double[x.length];
    x[0] = edges[0];
    for (int i = 0; i < counts.length; i++) {
      double fraction = total == 0 ? 0.0 : (double) counts[i] / total;
      x[2 * i + 1] = edges[i];
      y[2 * i + 1] = fraction;
      x[2 * i + 2] = edges[i + 1];
      y[2 * i + 2] = fraction;
    }
    x[x.length - 1] = edges[edges.length - 1];
    XYSeries s = chart.addSeries(name + " (" + total + " rows)", x, y);
    s.setXYSeriesRenderStyle(XYSeriesRenderStyle.Area);
    s.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 90));
    s.setLineColor(color);
    s.setLineWidth(1.5f);
    s.setMarker(SeriesMarkers.NONE);
  }
}
