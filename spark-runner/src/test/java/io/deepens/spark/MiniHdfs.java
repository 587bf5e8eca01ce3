package io.deepens.spark;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * An in-process HDFS for tests: {@link MiniDFSCluster} with a name node and one data node, every address on
 * 127.0.0.1, its storage under a folder of the caller's. {@link #close} shuts it down. Shared with the jobs module's
 * tests through spark-runner's test jar.
 */
public final class MiniHdfs implements AutoCloseable {
  private final MiniDFSCluster cluster;
  private final FileSystem fs;
  private final String uri;

  private MiniHdfs(MiniDFSCluster cluster, FileSystem fs, String uri) {
    this.cluster = cluster;
    this.fs = fs;
    this.uri = uri;
  }

  public static MiniHdfs start(Path dir) throws IOException {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.toAbsolutePath().toString());
    for (String k : List.of("dfs.namenode.rpc-address", "dfs.namenode.http-address", "dfs.datanode.address",
        "dfs.datanode.http.address", "dfs.datanode.ipc.address")) {
      conf.set(k, "127.0.0.1:0");
    }
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).checkDataNodeAddrConfig(true).build();
    cluster.waitActive();
    String uri = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    return new MiniHdfs(cluster, FileSystem.newInstance(URI.create(uri), conf), uri);
  }

  /** {@code hdfs://127.0.0.1:PORT}, no trailing slash. */
  public String uri() {
    return uri;
  }

  public MiniDFSCluster cluster() {
    return cluster;
  }

  public FileSystem fs() {
    return fs;
  }

  /** A client configuration whose default file system is this HDFS. */
  public Configuration clientConfiguration() {
    Configuration c = new Configuration(fs.getConf());
    c.set("fs.defaultFS", uri);
    return c;
  }

  @Override
  public void close() throws IOException {
    try {
      fs.close();
    } finally {
      cluster.shutdown(true);
    }
  }
}
