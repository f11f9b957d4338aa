namespace Loom.Data;

/// <summary>
/// The built-in image datasets, and loading of any folder of MNIST-style IDX files.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>digits</b>: 10,000 real MNIST digits (8,000 train / 2,000 test) kept in the repository's
/// <c>data/digits</c> and copied next to the built assemblies, so nothing is downloaded.</item>
/// <item><b>fashion-mnist</b>: the full 60,000 / 10,000 set from Debian's package <c>dataset-fashion-mnist</c>
/// (<c>/usr/share/datasets/fashion-mnist</c>).</item>
/// <item>Any folder holding <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
/// <c>t10k-images-idx3-ubyte</c> and <c>t10k-labels-idx1-ubyte</c>, each optionally <c>.gz</c>
/// (<see cref="FromIdxDirectory"/>; the command line's <c>--data-dir</c>).</item>
/// </list>
/// Images are N×1×28×28 float32 in [0, 1]; labels are integers.
/// </remarks>
/// <example>
/// <code>
/// var data = Datasets.Digits().Normalized();        // train-split mean/std applied to both splits
/// Console.WriteLine(data.Train);                    // digits/train: 8000 images of 1×28×28, 10 classes
/// </code>
/// </example>
public static class Datasets
{
    /// <summary>Where the digits live, relative to the repository root or the application's folder.</summary>
    public static readonly string DigitsFolder = Path.Combine("data", "digits");

    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> installs its files.</summary>
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The Debian package that provides Fashion-MNIST.</summary>
    public const string FashionMnistPackage = "dataset-fashion-mnist";

    /// <summary>The four standard IDX file names (without <c>.gz</c>): train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<string> IdxFileNames { get; } =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    /// <summary>The names the command line accepts for <see cref="Load"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["digits", "fashion-mnist", "image-folder"];

    /// <summary>Class names of the digits: "0" … "9".</summary>
    public static IReadOnlyList<string> DigitClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>Class names of Fashion-MNIST, by label.</summary>
    public static IReadOnlyList<string> FashionMnistClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads a dataset by name (<see cref="Names"/>); <paramref name="dataDir"/>, when given, is the folder to read
    /// instead of the default. A name that is not built in is an error listing the names. <c>image-folder</c> needs
    /// <paramref name="dataDir"/> (a folder of class folders, see <see cref="ImageFolder"/>) and reads it with
    /// <paramref name="imageFolder"/> (default 3×32×32).
    /// </summary>
    public static ImageSplits Load(string name, string? dataDir = null, ImageFolderOptions? imageFolder = null) => name switch
    {
        "digits" => Digits(dataDir),
        "fashion-mnist" => FashionMnist(dataDir ?? FashionMnistDirectory),
        "image-folder" => ImageFolder.Load(dataDir ?? throw new LoomException(
            "image-folder: pass --data-dir with a folder holding one sub-folder of images per class"), imageFolder),
        _ => throw new LoomException($"data: unknown dataset '{name}'; known: {string.Join(", ", Names)} (or pass --data-dir with a folder of IDX files)"),
    };

    /// <summary>
    /// The built-in digits (8,000 train / 2,000 test). <paramref name="location"/> may be the digits folder itself
    /// or a repository root holding <c>data/digits</c>; when null the folder is found by <see cref="LocateDigits"/>.
    /// </summary>
    public static ImageSplits Digits(string? location = null) =>
        FromIdxDirectory(LocateDigits(location), DigitClassNames, "digits");

    /// <summary>
    /// Finds the digits folder. With <paramref name="location"/>: that folder or its <c>data/digits</c>. Without:
    /// <c>data/digits</c> under the current directory or any parent up to the one holding <c>Loom.slnx</c>, then
    /// under the application's own folder (where the build copies it). Throws, listing every place looked in,
    /// when none holds the four files.
    /// </summary>
    public static string LocateDigits(string? location = null)
    {
        var candidates = new List<string>();
        if (location is not null)
        {
            candidates.Add(Path.GetFullPath(location));
            candidates.Add(Path.GetFullPath(Path.Combine(location, DigitsFolder)));
        }
        else
        {
            for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            {
                candidates.Add(Path.Combine(dir.FullName, DigitsFolder));
                if (File.Exists(Path.Combine(dir.FullName, "Loom.slnx"))) break;
            }
            candidates.Add(Path.Combine(AppContext.BaseDirectory, DigitsFolder));
        }
        foreach (var candidate in candidates)
        {
            if (IdxFileNames.All(f => File.Exists(Path.Combine(candidate, f + ".gz")))) return candidate;
        }
        throw new LoomException($"digits: no {string.Join(", ", IdxFileNames.Select(f => f + ".gz"))} in " +
            string.Join(" or ", candidates.Distinct()));
    }

    /// <summary>
    /// Fashion-MNIST (60,000 train / 10,000 test) from <paramref name="directory"/>, by default where Debian's
    /// <c>dataset-fashion-mnist</c> puts it. A missing folder is an error naming the package.
    /// </summary>
    public static ImageSplits FashionMnist(string directory = FashionMnistDirectory)
    {
        if (!Directory.Exists(directory))
        {
            throw new LoomException($"fashion-mnist: {directory} does not exist; install the Debian package {FashionMnistPackage} " +
                $"(apt-get install {FashionMnistPackage}) or pass --data-dir with a folder holding {string.Join(", ", IdxFileNames)} (.gz or not)");
        }
        return FromIdxDirectory(directory, FashionMnistClassNames, "fashion-mnist");
    }

    /// <summary>
    /// Reads the four standard IDX files of <paramref name="directory"/> (<see cref="IdxFileNames"/>, each raw or
    /// <c>.gz</c>; the unpacked names <c>train-images.idx3-ubyte</c> etc. are accepted too). Without
    /// <paramref name="classNames"/> the classes are named "0" … "K−1", K being one more than the largest label.
    /// </summary>
    public static ImageSplits FromIdxDirectory(string directory, IReadOnlyList<string>? classNames = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
            throw new LoomException($"data: {directory} does not exist or is not a folder");
        name ??= Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        var paths = IdxFileNames.Select(f => FindIdxFile(directory, f)).ToArray();
        var trainImages = ReadImages(paths[0]);
        var trainLabels = ReadLabels(paths[1]);
        var testImages = ReadImages(paths[2]);
        var testLabels = ReadLabels(paths[3]);
        if (classNames is null)
        {
            var max = Math.Max(trainLabels.Length == 0 ? 0 : trainLabels.Max(), testLabels.Length == 0 ? 0 : testLabels.Max());
            classNames = [.. Enumerable.Range(0, max + 1).Select(i => i.ToString())];
        }
        return new ImageSplits(name, directory,
            MakeDataset($"{name}/train", trainImages, trainLabels, paths[0], paths[1], classNames),
            MakeDataset($"{name}/test", testImages, testLabels, paths[2], paths[3], classNames));
    }

    /// <summary>
    /// One split from an images file and a labels file: images of rank 3 (N×H×W, one channel) or rank 4 (N×C×H×W);
    /// bytes are divided by 255, other types taken as they are; labels of rank 1, integers, one per image.
    /// </summary>
    public static ImageDataset FromIdxFiles(string imagesPath, string labelsPath, IReadOnlyList<string> classNames, string? name = null) =>
        MakeDataset(name ?? Path.GetFileName(imagesPath), ReadImages(imagesPath), ReadLabels(labelsPath), imagesPath, labelsPath, classNames);

    private static string FindIdxFile(string directory, string baseName)
    {
        string[] names = [baseName + ".gz", baseName, ReplaceLast(baseName, "-idx", ".idx") + ".gz", ReplaceLast(baseName, "-idx", ".idx")];
        foreach (var n in names)
        {
            var path = Path.Combine(directory, n);
            if (File.Exists(path)) return path;
        }
        throw new LoomException($"data: {directory} has no {baseName}.gz (nor {baseName}); a data folder holds " +
            $"{string.Join(", ", IdxFileNames)}, each raw or .gz");
    }

    private static string ReplaceLast(string s, string find, string replace)
    {
        var i = s.LastIndexOf(find, StringComparison.Ordinal);
        return i < 0 ? s : string.Concat(s.AsSpan(0, i), replace, s.AsSpan(i + find.Length));
    }

    private static IdxArray ReadImages(string path)
    {
        var array = Idx.Read(path);
        if (array.Shape.Rank is not (3 or 4))
            throw new LoomException($"{path}: images must have 3 dimensions (N×H×W) or 4 (N×C×H×W), this file has {array.Shape.Rank}: {array.Shape}");
        return array;
    }

    private static int[] ReadLabels(string path)
    {
        var array = Idx.Read(path);
        if (array.Shape.Rank != 1)
            throw new LoomException($"{path}: labels must have 1 dimension, this file has {array.Shape.Rank}: {array.Shape}");
        if (array.Type is not (IdxType.UInt8 or IdxType.Int8 or IdxType.Int16 or IdxType.Int32))
            throw new LoomException($"{path}: labels must be integers, this file holds {array.Type.Name()} values");
        var labels = array.ToInt32Array();
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0) throw new LoomException($"{path}: label {i} is {labels[i]}; labels must not be negative");
        }
        return labels;
    }

    private static ImageDataset MakeDataset(string name, IdxArray images, int[] labels, string imagesPath, string labelsPath,
        IReadOnlyList<string> classNames)
    {
        var shape = images.Shape;
        if (shape[0] != labels.Length)
            throw new LoomException($"{labelsPath}: {labels.Length} labels but {imagesPath} holds {shape[0]} images");
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classNames.Count)
                throw new LoomException($"{labelsPath}: label {i} is {labels[i]} but {name} has {classNames.Count} classes (0..{classNames.Count - 1})");
        }
        var (c, h, w) = shape.Rank == 3 ? (1, shape[1], shape[2]) : (shape[1], shape[2], shape[3]);
        if (c == 0 || h == 0 || w == 0)
            throw new LoomException($"{imagesPath}: images of {c}×{h}×{w} are empty");
        var pixels = images.ToSingleArray(images.Type == IdxType.UInt8 ? 255f : 1f);
        return new ImageDataset(name, pixels, labels, c, h, w, classNames);
    }
}
