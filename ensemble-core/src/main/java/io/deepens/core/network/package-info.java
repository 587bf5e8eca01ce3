/**
 * Member networks: the {@code mlp} and {@code cnn} presets and user DL4J configurations
 * ({@link io.deepens.core.network.NetworkFactory}), and the heteroscedastic Gaussian loss of regression members
 * ({@link io.deepens.core.network.GaussianNllLoss}, Lakshminarayanan et al. 2017, section 2.2).
 */
package io.deepens.core.network;
