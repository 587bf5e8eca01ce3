package io.deepens.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input gets one clear line and exit code 2, without a stack trace and before Spark starts. */
class CommandLineErrorsTest {

  static EndToEndTest.Run main(String... args) {
    return EndToEndTest.main(args);
  }

  static void assertOneCleanLine(EndToEndTest.Run r, String... fragments) {
    assertEquals(2, r.code(), r.err());
    String err = r.err().trim();
    assertFalse(err.contains("\n"), "one line expected: " + err);
    assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace: " + err);
    for (String f : fragments) {
      assertTrue(err.contains(f), "'" + f + "' missing from: " + err);
    }
  }

  @Test
  void unknownCommand() {
    assertOneCleanLine(main("trian"), "unknown command 'trian'", "train, score, evaluate, inspect, import");
  }

  @Test
  void unknownOption() {
    assertOneCleanLine(main("score", "--ensemble", "x", "--inptu", "y"), "unknown option --inptu", "--input");
  }

  @Test
  void missingRequiredOption() {
    assertOneCleanLine(main("evaluate", "--ensemble", "x"), "--test is required");
  }

  @Test
  void missingConfigFile(@TempDir Path tmp) {
    assertOneCleanLine(main("train", "--config", tmp.resolve("nope.yaml").toString(), "--data", "d", "--store", "s"),
        "nope.yaml");
  }

  @Test
  void malformedConfig(@TempDir Path tmp) throws Exception {
    Path bad = tmp.resolve("bad.yaml");
    Files.writeString(bad, Files.readString(Path.of(EndToEndTest.ROOT, "conf/digits-mlp.yaml"))
        .replace("learningRate: 0.003", "learningRate: -1"));
    assertOneCleanLine(main("train", "--config", bad.toString(), "--data", "d", "--store", "s"),
        "training.learningRate", "-1");
    Path unknown = tmp.resolve("unknown.yaml");
    Files.writeString(unknown, Files.readString(Path.of(EndToEndTest.ROOT, "conf/digits-mlp.yaml"))
        .replace("  batchSize: 32", "  batchSize: 32\n  batchSise: 64"));
    assertOneCleanLine(main("train", "--config", unknown.toString(), "--data", "d", "--store", "s"),
        "training.batchSise");
  }

  @Test
  void gpuSpecOnAMasterWithoutGpus(@TempDir Path tmp) {
    // conf/fashion-mnist-cnn.yaml asks for 0.5 GPU per member; local[2] has no executor GPUs
    assertOneCleanLine(main("train", "--config", Path.of(EndToEndTest.ROOT, "conf/fashion-mnist-cnn.yaml").toString(),
        "--data", tmp.resolve("d").toString(), "--store", tmp.resolve("s").toString(), "--master", "local[2]"),
        "0.5 GPU per member (resources.gpusPerMember)", "spark.executor.resource.gpu.amount", "--gpus-per-member 0");
    assertFalse(Files.exists(tmp.resolve("s")), "nothing written to the store");
  }

  @Test
  void graphWithTwoInputsIsRefusedBeforeSparkStarts(@TempDir Path tmp) throws Exception {
    String twoInputs = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
        .graphBuilder()
        .addInputs("pixels", "extra")
        .setInputTypes(org.deeplearning4j.nn.conf.inputs.InputType.feedForward(60),
            org.deeplearning4j.nn.conf.inputs.InputType.feedForward(4))
        .addVertex("both", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "pixels", "extra")
        .addLayer("out", new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nOut(8).build(), "both")
        .setOutputs("out")
        .build()
        .toJson();
    Files.writeString(tmp.resolve("two-inputs.json"), twoInputs);
    Path spec = tmp.resolve("two-inputs.yaml");
    Files.writeString(spec, Files.readString(Path.of(EndToEndTest.ROOT, "conf/digits-dl4j-graph.yaml"))
        .replace("configPath: digits-dl4j-graph.json", "configPath: two-inputs.json"));
    assertOneCleanLine(main("train", "--config", spec.toString(), "--data", "d", "--store", "s"),
        "network.config: a ComputationGraph member takes exactly one input", "[pixels, extra]");
  }

  @Test
  void storeWithoutVersions(@TempDir Path tmp) {
    assertOneCleanLine(main("inspect", "--ensemble", tmp.toString()), "no published version");
  }

  @Test
  void helpExitsZero() {
    EndToEndTest.Run r = main("--help");
    assertEquals(0, r.code());
    assertTrue(r.out().contains("exit codes"));
    EndToEndTest.Run t = main("train", "--help");
    assertEquals(0, t.code());
    assertTrue(t.out().contains("--config"));
  }
}
