/**
 * Member networks: the {@code mlp} and {@code cnn} presets and user DL4J configurations, multilayer or computation
 * graph ({@link io.deepens.core.network.NetworkFactory}); the one type every member is, whichever DL4J network it
 * wraps ({@link io.deepens.core.network.MemberNetwork}); and the heteroscedastic Gaussian loss of regression members
 * ({@link io.deepens.core.network.GaussianNllLoss}, Lakshminarayanan et al. 2017, section 2.2).
 */
package io.deepens.core.network;
