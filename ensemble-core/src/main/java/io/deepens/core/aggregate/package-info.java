/**
 * Driver-side aggregation: from the members' predictions on the validation rows to the published mixture
 * (weights, temperature, validation metrics). Pure Java, so it is tested without Spark.
 */
package io.deepens.core.aggregate;
