namespace Loom.Data;

/// <summary>
/// The image files of one folder of class folders, in the order they are loaded: class folders sorted ordinally
/// (label = index), and within each class its images (sub-folders included) sorted by relative path.
/// </summary>
/// <param name="Folder">The folder that holds the class folders.</param>
/// <param name="ClassNames">The class folder names, by label.</param>
/// <param name="Paths">Every image file, class by class.</param>
/// <param name="Labels">The label of each file.</param>
public sealed record ImageFolderIndex(string Folder, IReadOnlyList<string> ClassNames, IReadOnlyList<string> Paths, IReadOnlyList<int> Labels)
{
    /// <summary>The number of images.</summary>
    public int Count => Paths.Count;
}

/// <summary>
/// A dataset of the user's own images, as torchvision's <c>ImageFolder</c>: one sub-folder per class, named after
/// it, holding PNG, JPEG, BMP, WEBP or GIF files (decoded with SkiaSharp), each resized to one size into an
/// <see cref="ImageDataset"/> of N×C×H×W floats in [0, 1].
/// </summary>
/// <remarks>
/// <para><b>Layouts.</b> <c>root/train/&lt;class&gt;/…</c> with <c>root/test/&lt;class&gt;/…</c> (or <c>val/</c>)
/// gives the two splits as they are, and both must have the same classes. Any other <c>root/&lt;class&gt;/…</c> is
/// split per class with <see cref="ImageFolderOptions.TestFraction"/>, seeded.</para>
/// <para><b>Classes.</b> Sub-folders of the root, sorted ordinally (<c>B</c> before <c>a</c>), label = position.
/// Images in nested folders of a class belong to it. Hidden files and folders (<c>.name</c>) and files with other
/// extensions are skipped. At least two classes, each with at least one image.</para>
/// <para><b>Pixels.</b> RGB (alpha dropped) or luma (<see cref="ImageFolderOptions.Grayscale"/>), resized with
/// Pillow's antialiased bilinear filter, stretched, centre-cropped or padded (<see cref="ImageFolderOptions.Resize"/>).
/// Files are decoded in parallel, each into its own slot, so the result does not depend on the scheduling.</para>
/// <para><b>Stratified split.</b> One <see cref="Generator"/> seeded with <see cref="ImageFolderOptions.Seed"/>
/// shuffles each class's images in turn (class order); the first round(n·fraction) go to the test split (at least
/// one, and at least one left for training, when the class has two or more). Both splits keep the files' order.</para>
/// <para>Errors are <see cref="LoomException"/>s naming the folder or file: a missing root, no class folders, a
/// class folder without images, an unreadable or corrupt image, train and test classes that differ.</para>
/// Shape: images [N, C, H, W], C = 3 (or 1 with grayscale), H×W = the options' size; labels [N].
/// </remarks>
/// <example>
/// <code>
/// var data = ImageFolder.Load("cats-and-dogs", new ImageFolderOptions { Height = 64, Width = 64 });
/// Console.WriteLine(data.Train);   // cats-and-dogs/train: 1600 images of 3×64×64, 2 classes
/// </code>
/// </example>
public static class ImageFolder
{
    /// <summary>The file extensions read as images (any case).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"];

    /// <summary>The training folder of a split layout.</summary>
    public const string TrainFolderName = "train";

    /// <summary>The test folder names of a split layout, in order of preference.</summary>
    public static IReadOnlyList<string> TestFolderNames { get; } = ["test", "val"];

    private static readonly EnumerationOptions Visible = new()
    {
        RecurseSubdirectories = false,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        IgnoreInaccessible = true,
        MatchType = MatchType.Simple,
    };

    private static readonly EnumerationOptions VisibleRecursive = new()
    {
        RecurseSubdirectories = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        IgnoreInaccessible = true,
        MatchType = MatchType.Simple,
    };

    /// <summary>
    /// Loads both splits of <paramref name="root"/>: its <c>train/</c> and <c>test/</c> (or <c>val/</c>) folders when it
    /// has them, else a seeded stratified split of its class folders. The dataset is named after the root folder.
    /// </summary>
    public static ImageSplits Load(string root, ImageFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        options ??= new ImageFolderOptions();
        options.Validate();
        if (!Directory.Exists(root))
            throw new LoomException($"image-folder: {root} does not exist or is not a folder");
        var full = Path.GetFullPath(root);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(full));
        if (name.Length == 0) name = "image-folder";

        var trainDir = Path.Combine(root, TrainFolderName);
        var testDir = TestFolderNames.Select(n => Path.Combine(root, n)).FirstOrDefault(Directory.Exists);
        if (Directory.Exists(trainDir) && testDir is not null)
        {
            var train = Scan(trainDir);
            var test = Scan(testDir);
            CheckSameClasses(train, test);
            return new ImageSplits(name, full, Decode(train, options, name + "/train"), Decode(test, options, name + "/test"));
        }

        var all = Scan(root);
        var (trainIndices, testIndices) = StratifiedSplit(all.Labels, all.ClassNames.Count, options.TestFraction, options.Seed);
        if (testIndices.Length == 0)
            throw new LoomException($"image-folder: every class of {root} has a single image, so none is left to test on; add images or a test/ folder");
        return new ImageSplits(name, full,
            Decode(Select(all, trainIndices), options, name + "/train"),
            Decode(Select(all, testIndices), options, name + "/test"));
    }

    /// <summary>Every image of one folder of class folders, without splitting (named after the folder unless <paramref name="name"/> is given).</summary>
    public static ImageDataset LoadFolder(string folder, ImageFolderOptions? options = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options ??= new ImageFolderOptions();
        options.Validate();
        var index = Scan(folder);
        return Decode(index, options, name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))));
    }

    /// <summary>One image file, decoded and resized as <see cref="Load"/> does: C×H×W floats in [0, 1].</summary>
    public static float[] LoadImage(string path, ImageFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new ImageFolderOptions();
        options.Validate();
        if (!File.Exists(path)) throw new LoomException($"{path}: no such file");
        var pixels = new float[options.Channels * options.Height * options.Width];
        ImageDecoders.Load(path, pixels, options.Channels, options.Height, options.Width, options.Resize);
        return pixels;
    }

    /// <summary>The class folders of <paramref name="folder"/>, sorted ordinally (hidden ones skipped).</summary>
    public static IReadOnlyList<string> FindClasses(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
            throw new LoomException($"image-folder: {folder} does not exist or is not a folder");
        var classes = Directory.EnumerateDirectories(folder, "*", Visible).Select(Path.GetFileName).OfType<string>().ToArray();
        Array.Sort(classes, StringComparer.Ordinal);
        return classes;
    }

    /// <summary>
    /// Finds the classes and image files of <paramref name="folder"/> without decoding anything; throws when there
    /// are fewer than two class folders or a class folder holds no image.
    /// </summary>
    public static ImageFolderIndex Scan(string folder)
    {
        var classes = FindClasses(folder);
        if (classes.Count == 0)
        {
            var loose = CountImages(folder, Visible);
            throw new LoomException($"image-folder: {folder} has no class folders; put each class's images in a sub-folder named " +
                "after the class (cat/1.png, cat/2.png, dog/1.png, …)" +
                (loose > 0 ? $"; it holds {loose} image file(s) directly" : ""));
        }
        if (classes.Count == 1)
        {
            var hint = classes[0] == TrainFolderName
                ? $"; for a split layout put both {TrainFolderName}/ and {string.Join(" or ", TestFolderNames.Select(n => n + "/"))} in {folder}"
                : "";
            throw new LoomException($"image-folder: {folder} has one class folder ({classes[0]}); a classifier needs two or more{hint}");
        }
        var paths = new List<string>();
        var labels = new List<int>();
        for (var label = 0; label < classes.Count; label++)
        {
            var classDir = Path.Combine(folder, classes[label]);
            var files = Directory.EnumerateFiles(classDir, "*", VisibleRecursive)
                .Where(IsImageFile)
                .Select(f => Path.GetRelativePath(classDir, f))
                .ToArray();
            if (files.Length == 0)
            {
                throw new LoomException($"image-folder: class folder {classDir} has no images ({string.Join(", ", Extensions)})" +
                    (Directory.EnumerateFileSystemEntries(classDir, "*", Visible).Any() ? "; its files have other extensions" : "; it is empty"));
            }
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var f in files)
            {
                paths.Add(Path.Combine(classDir, f));
                labels.Add(label);
            }
        }
        return new ImageFolderIndex(folder, classes, paths, labels);
    }

    private static bool IsImageFile(string path)
    {
        var ext = Path.GetExtension(path);
        foreach (var e in Extensions)
        {
            if (ext.Equals(e, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    private static int CountImages(string folder, EnumerationOptions options) =>
        Directory.EnumerateFiles(folder, "*", options).Count(IsImageFile);

    private static void CheckSameClasses(ImageFolderIndex train, ImageFolderIndex test)
    {
        if (train.ClassNames.SequenceEqual(test.ClassNames, StringComparer.Ordinal)) return;
        var missing = train.ClassNames.Except(test.ClassNames, StringComparer.Ordinal).ToArray();
        var extra = test.ClassNames.Except(train.ClassNames, StringComparer.Ordinal).ToArray();
        var parts = new List<string>();
        if (missing.Length > 0) parts.Add($"{test.Folder} lacks {string.Join(", ", missing)}");
        if (extra.Length > 0) parts.Add($"{test.Folder} has {string.Join(", ", extra)} that {train.Folder} lacks");
        throw new LoomException($"image-folder: the train and test classes differ: {string.Join("; ", parts)} " +
            $"(train: {string.Join(", ", train.ClassNames)}; test: {string.Join(", ", test.ClassNames)})");
    }

    /// <summary>
    /// The stratified split of <see cref="Load"/>: indices (ascending) of the training and test images. One generator
    /// seeded with <paramref name="seed"/> shuffles each class's indices in class order; the first
    /// round(n·<paramref name="testFraction"/>) (clamped to 1..n−1 when n ≥ 2, 0 when n = 1) are the test images.
    /// </summary>
    public static (int[] Train, int[] Test) StratifiedSplit(IReadOnlyList<int> labels, int numClasses, double testFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(testFraction > 0 && testFraction < 1))
            throw new LoomException($"image-folder: test fraction {testFraction} must be between 0 and 1 (exclusive)");
        var byClass = new List<int>[numClasses];
        for (var c = 0; c < numClasses; c++) byClass[c] = [];
        for (var i = 0; i < labels.Count; i++) byClass[labels[i]].Add(i);
        var generator = new Generator(seed);
        var isTest = new bool[labels.Count];
        foreach (var members in byClass)
        {
            var shuffled = members.ToArray();
            generator.Shuffle<int>(shuffled);
            var n = shuffled.Length;
            var take = n < 2 ? 0 : Math.Clamp((int)Math.Round(n * testFraction, MidpointRounding.AwayFromZero), 1, n - 1);
            for (var k = 0; k < take; k++) isTest[shuffled[k]] = true;
        }
        var train = new List<int>();
        var test = new List<int>();
        for (var i = 0; i < isTest.Length; i++) (isTest[i] ? test : train).Add(i);
        return ([.. train], [.. test]);
    }

    private static ImageFolderIndex Select(ImageFolderIndex index, int[] indices)
    {
        var paths = new string[indices.Length];
        var labels = new int[indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            paths[i] = index.Paths[indices[i]];
            labels[i] = index.Labels[indices[i]];
        }
        return index with { Paths = paths, Labels = labels };
    }

    /// <summary>
    /// Decodes every file of <paramref name="index"/> into its slot, in parallel. On failure, the error of the
    /// lowest-numbered failing file is thrown (<see cref="ParallelLoopState.Break()"/> lets every lower one finish),
    /// so the message does not depend on the scheduling.
    /// </summary>
    private static ImageDataset Decode(ImageFolderIndex index, ImageFolderOptions options, string name)
    {
        var (c, h, w) = (options.Channels, options.Height, options.Width);
        var size = c * h * w;
        var count = index.Count;
        if ((long)count * size > Array.MaxLength)
            throw new LoomException($"image-folder: {count} images of {c}×{h}×{w} are more than one array holds; use a smaller size");
        var images = new float[count * size];
        var errors = new Exception?[count];
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = options.MaxDegreeOfParallelism > 0 ? options.MaxDegreeOfParallelism : Environment.ProcessorCount,
        };
        Parallel.For(0, count, parallel, (i, state) =>
        {
            try
            {
                ImageDecoders.Load(index.Paths[i], images.AsSpan(i * size, size), c, h, w, options.Resize);
            }
            catch (Exception e)
            {
                errors[i] = e;
                state.Break();
            }
        });
        for (var i = 0; i < count; i++)
        {
            if (errors[i] is LoomException loom) throw new LoomException(loom.Message, loom);
            if (errors[i] is { } other) throw new LoomException($"{index.Paths[i]}: cannot be loaded: {other.Message}", other);
        }
        var labels = new int[count];
        for (var i = 0; i < count; i++) labels[i] = index.Labels[i];
        return new ImageDataset(name, images, labels, c, h, w, index.ClassNames);
    }
}
