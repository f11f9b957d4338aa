using System.Diagnostics;
using Loom.Data;
using Loom.Nn;
using Loom.Tests.Data;
using Loom.Tests.Training;
using Loom.Training;
using static Loom.Functional;

namespace Loom.Tests.Reliability;

/// <summary>In-process faults of the training loop: a non-finite gradient with a finite loss, a full disk, a torn history.</summary>
[Collection("Reliability: global RNG")]
public sealed class TrainerFaultTests
{
    private static ImageClassificationData Blobs(int count = 64) =>
        new(BlobImages.Splits(count, 16, sparse: false), new DataLoaderOptions { BatchSize = 16, Seed = 3 });

    private static TrainConfig Config => new() { Epochs = 2, BatchSize = 16, Lr = 0.01, Optimizer = "sgd", Momentum = 0, Schedule = "none", Seed = 3, Threads = 1 };

    /// <summary>Finite forward pass, NaN gradient: √k at k = 0 times 0 is 0, but its gradient is 0·∞.</summary>
    private sealed class KinkedModel : Module
    {
        public KinkedModel(int hidden = 2)
        {
            RegisterModule("fc", new Linear(16, hidden, generator: new Generator(1)));
            RegisterParameter("kink", Tensor.Zeros(1));
        }

        public override Tensor Forward(Tensor input) =>
            Add(((Linear)NamedChildren().First(c => c.Key == "fc").Value).Forward(input.Flatten(1)), Mul(Sqrt(Get("kink")), 0.0));
    }

    [Fact]
    public void ANonFiniteGradientWithAFiniteLossIsCaughtAtItsStepNamingTheParameter()
    {
        using var dir = new TempDirectory();
        var trainer = new Trainer(new KinkedModel(), Blobs(), Config, new RunDirectory(dir.File("run")));
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run(TestContext.Current.CancellationToken));
        Assert.StartsWith("diverged at step 1 (epoch 1, batch 1): the gradient of parameter 'kink' is not finite", e.Message, StringComparison.Ordinal);
        Assert.Contains("the last finite checkpoint is kept", e.Message, StringComparison.Ordinal);
        var run = new RunDirectory(dir.File("run"));
        Assert.Equal(0, RunFiles.Position(run.Path).Step);
        new KinkedModel().LoadStateDict(global::Loom.Interop.Safetensors.Load(run.Model).Tensors);
    }

    /// <summary>Killed after config.json but before the first checkpoint: --resume starts over, exactly as a fresh run.</summary>
    [Fact]
    public void AResumeWithoutACheckpointStartsFromTheBeginning()
    {
        using var dir = new TempDirectory();
        Rng.ManualSeed(3);
        var fresh = new RunDirectory(dir.File("fresh"));
        new Trainer(new WideModel(), Blobs(), Config, fresh).Run(TestContext.Current.CancellationToken);
        var killed = new RunDirectory(dir.File("killed"));
        Directory.CreateDirectory(killed.Path);
        File.WriteAllText(killed.Config, "{}");
        File.WriteAllText(killed.History, History.Header + "\n1,1,tr");
        Rng.ManualSeed(3);
        var trainer = new Trainer(new WideModel(), Blobs(), Config, killed);
        trainer.Resume();
        trainer.Run(TestContext.Current.CancellationToken);
        Assert.Equal(File.ReadAllBytes(fresh.Model), File.ReadAllBytes(killed.Model));
        Assert.Equal(File.ReadAllText(fresh.History), File.ReadAllText(killed.History));
    }

    [Fact]
    public void AResumeDropsAHistoryLineTornByAKill()
    {
        using var dir = new TempDirectory();
        var path = dir.File("history.csv");
        File.WriteAllText(path, History.Header + "\n1,1,train,0.5,0.5,0.01,1\n2,1,train,0.4,0.5,0.01,1\n3,1,tra");
        var rows = History.ReadRecoverable(path);
        Assert.Equal([1L, 2L], rows.Select(r => r.Step));
        File.WriteAllText(path, History.Header + "\n");
        Assert.Empty(History.ReadRecoverable(path));
        using (var history = History.Open(path, keepUpToStep: 1)) history.Add(new HistoryRow(2, 1, "train", 0.25, 1, 0.1, 2));
        Assert.Equal(History.Header + "\n2,1,train,0.25,1,0.1,2\n", File.ReadAllText(path));
    }

    /// <summary>
    /// A run directory on a tmpfs with room for one checkpoint and a half: the second checkpoint write hits a full
    /// disk. The error is one clear line, the first checkpoint is intact and loads, no temporary file is left.
    /// </summary>
    [Fact]
    public void AFullDiskGivesAClearErrorAndKeepsThePreviousCheckpoint()
    {
        using var dir = new TempDirectory();
        // The checkpoint's size, from the same run on the ordinary disk.
        Rng.ManualSeed(3);
        var probe = new RunDirectory(dir.File("probe"));
        new Trainer(new WideModel(), Blobs(), Config with { Epochs = 1 }, probe).Run(TestContext.Current.CancellationToken);
        var checkpointBytes = new FileInfo(probe.Checkpoint).Length;
        var mount = dir.File("tmpfs");
        Directory.CreateDirectory(mount);
        var sizeKb = (checkpointBytes * 3 / 2 + 64 * 1024) / 1024;
        if (!Mount(mount, sizeKb, out var why)) Assert.Skip($"cannot mount a {sizeKb} KiB tmpfs to fill ({why}); needs root");
        try
        {
            Rng.ManualSeed(3);
            var run = new RunDirectory(Path.Combine(mount, "run"));
            var trainer = new Trainer(new WideModel(), Blobs(), Config with { Epochs = 3 }, run);
            var e = Assert.Throws<LoomException>(() => trainer.Run(TestContext.Current.CancellationToken));
            Assert.Matches(@"^checkpoint: could not write .*checkpoint\.safetensors: No space left on device.* \(the previous file is intact\)$", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Equal(0, RunFiles.Position(run.Path).Step);
            Assert.Empty(Directory.GetFiles(run.Path, ".*.tmp"));
            var weights = global::Loom.Interop.Safetensors.Load(run.Checkpoint).Tensors.Where(t => t.Key.StartsWith("model/", StringComparison.Ordinal))
                .ToDictionary(t => t.Key["model/".Length..], t => t.Value);
            new WideModel().LoadStateDict(weights);
        }
        finally
        {
            Unmount(mount);
        }
    }

    /// <summary>A plain wide linear model: big enough checkpoints (≈ 256 KiB) that a small tmpfs fills.</summary>
    private sealed class WideModel : Module
    {
        public WideModel()
        {
            RegisterModule("fc1", new Linear(16, 2048, generator: new Generator(1)));
            RegisterModule("fc2", new Linear(2048, 2, generator: new Generator(2)));
        }

        public override Tensor Forward(Tensor input)
        {
            var modules = NamedChildren().ToDictionary(c => c.Key, c => c.Value);
            return modules["fc2"].Forward(Relu(modules["fc1"].Forward(input.Flatten(1))));
        }
    }

    private static bool Mount(string path, long sizeKb, out string why)
    {
        var (code, output) = Exec("mount", "-t", "tmpfs", "-o", $"size={sizeKb}k", "tmpfs", path);
        why = output.Trim();
        return code == 0;
    }

    private static void Unmount(string path) => Exec("umount", path);

    private static (int Code, string Output) Exec(string file, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            var output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}

/// <summary>
/// Tests that set process-wide state (the global RNG, the thread count) in process: the trainer tests here, and the
/// fuzzers, whose CLI cases run `train` far enough to seed the RNG. They run alone, so that other tests that build
/// models from the global RNG stay deterministic.
/// </summary>
[CollectionDefinition("Reliability: global RNG", DisableParallelization = true)]
public sealed class GlobalRngCollection;
