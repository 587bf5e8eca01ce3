/**
 * The evaluation report: plain data in, files out.
 *
 * <p>The {@code evaluate} command computes its numbers elsewhere (mergeable accumulators on executors) and hands
 * them over as an {@link io.deepens.jobs.report.EvaluationReport}; {@link io.deepens.jobs.report.ReportWriter}
 * renders it into a folder holding {@code metrics.json}, a self-contained {@code index.html} and the PNG charts
 * the page shows. Nothing here touches Spark.
 */
package io.deepens.jobs.report;
