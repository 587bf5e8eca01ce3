/**
 * The versioned ensemble store on any Hadoop FileSystem ({@code file://}, {@code hdfs://}, {@code s3a://}).
 *
 * <pre>
 * STORE/versions/&lt;version&gt;/manifest.json      written last: spec, members, weights, temperature, metrics,
 *                                              data fingerprint, SHA-256 of every file, provenance
 * STORE/versions/&lt;version&gt;/members/m-000.zip  DL4J ModelSerializer files
 * STORE/checkpoints/&lt;run-id&gt;/m-000/...        per-epoch checkpoints, removed after publish
 * STORE/checkpoints/&lt;run-id&gt;/LOCK            the run's lock while it trains ({@link RunLock})
 * STORE/staging/...                           versions being assembled; never read by scorers
 * STORE/LATEST                                name of the newest complete version, replaced atomically
 * STORE/runs/&lt;run-id&gt;.json                   which version a run id published (written around the rename)
 * STORE/leases/&lt;version&gt;/&lt;uuid&gt;              a scorer resolved the version then ({@link Retention})
 * STORE/trash/...                             versions being removed by retention
 * </pre>
 *
 * <p>A version is assembled under {@code staging/}, its manifest written last, then the whole folder is renamed
 * into {@code versions/} in one FileSystem rename (atomic on HDFS and local file systems), and only then is
 * {@code LATEST} replaced. A scorer therefore never sees a half-written version.
 */
package io.deepens.core.store;
