/**
 * The command line: {@code train}, {@code score}, {@code evaluate}, {@code inspect} and {@code import}, the same
 * words locally ({@code scripts/deepens}) and under {@code spark-submit --class io.deepens.jobs.Main}. Thin: parse,
 * validate, call spark-runner. Exit codes are in {@link io.deepens.jobs.ExitCode}.
 */
package io.deepens.jobs;
