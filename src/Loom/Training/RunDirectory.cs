namespace Loom.Training;

/// <summary>The files of one run, all under <c>runs/&lt;name&gt;/</c>.</summary>
public sealed class RunDirectory
{
    public RunDirectory(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    public string Config => Combine("config.json");

    public string History => Combine("history.csv");

    public string Checkpoint => Combine(Training.Checkpoint.FileName);

    public string Model => Combine("model.safetensors");

    public string Curves => Combine("curves.png");

    public string Doctor => Combine("doctor.md");

    public string Lock => Combine(".lock");

    public string Combine(string file) => System.IO.Path.Combine(Path, file);

    /// <summary>A fresh directory name under <paramref name="root"/>: <c>yyyyMMdd-HHmmss</c>, suffixed if taken.</summary>
    public static string NewName(string root = "runs")
    {
        var stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture);
        var path = System.IO.Path.Combine(root, stamp);
        for (var i = 2; Directory.Exists(path); i++) path = System.IO.Path.Combine(root, $"{stamp}-{i}");
        return path;
    }

    /// <summary>Reads the run's config, naming what was looked for when it is absent.</summary>
    public TrainConfig ReadConfig()
    {
        if (!File.Exists(Config)) throw new LoomException($"run: {Path} has no config.json (is it a Loom run directory?)");
        return TrainConfig.FromJson(File.ReadAllText(Config), Config);
    }
}
