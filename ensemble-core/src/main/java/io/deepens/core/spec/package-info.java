/**
 * The ensemble spec: immutable, validated records read from YAML ({@link io.deepens.core.spec.SpecLoader}) and
 * written as canonical JSON for the manifest ({@link io.deepens.core.spec.EnsembleSpec#toJson()}). Every range
 * rule lives in the records' compact constructors, so a spec built in code is checked exactly like one read from
 * a file; messages name the key path, the value found and the rule. Each record also reads its own section of a
 * document and writes it back (its keys are constants beside its fields, spelled once, as Smile's {@code Options}
 * records do), through the package's {@code SpecNode}, the typed reader whose errors name the key path.
 */
package io.deepens.core.spec;
