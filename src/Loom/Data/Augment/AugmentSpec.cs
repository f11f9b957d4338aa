using System.Globalization;

namespace Loom.Data.Augment;

/// <summary>
/// Reads the command line's <c>--augment</c> text into a <see cref="Compose"/>: a comma-separated list of steps,
/// each a name with optional arguments in parentheses, applied left to right, or a preset.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term><c>flip</c>, <c>flip(p)</c></term><description><see cref="RandomHorizontalFlip"/>, p = 0.5 by default.</description></item>
/// <item><term><c>crop(size[,padding])</c></term><description><see cref="RandomCrop"/>; size <c>28</c> or <c>HxW</c>.</description></item>
/// <item><term><c>rotate(d)</c>, <c>rotate(a-b)</c></term><description><see cref="RandomRotation"/> in [−d, d] or [a, b] degrees.</description></item>
/// <item><term><c>jitter(b[,c[,s[,h]]])</c></term><description><see cref="ColorJitter"/>; each x or lo-hi.</description></item>
/// <item><term><c>blur(k[,σ])</c></term><description><see cref="GaussianBlur"/>; σ a number or lo-hi, default 0.1-2.</description></item>
/// <item><term><c>normalize(m,s)</c></term><description><see cref="Normalize"/>; per channel <c>m1/m2/m3</c>.</description></item>
/// <item><term><c>none</c></term><description>No augmentation (alone).</description></item>
/// <item><term><c>standard</c></term><description>The dataset's usual recipe (<see cref="Standard"/>); may be followed by more steps.</description></item>
/// </list>
/// Names ignore case; spaces around items and arguments are allowed. An error names the character where the
/// problem is, e.g. <c>augment: crop's padding must be a whole number ≥ 0, not 'x' (character 14 of "flip,crop(28,x)")</c>.
/// </remarks>
/// <example>
/// <code>
/// var augment = AugmentSpec.Parse("flip,crop(28,4),rotate(10),jitter(0.2,0.2,0.2,0.05),blur(3,0.1-2.0)");
/// var usual = AugmentSpec.Parse("standard", "digits", new Shape(1, 28, 28));   // crop(28,2)
/// </code>
/// </example>
public static class AugmentSpec
{
    /// <summary>The step names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["flip", "crop", "rotate", "jitter", "blur", "normalize"];

    /// <summary>The preset names.</summary>
    public static IReadOnlyList<string> Presets { get; } = ["none", "standard"];

    /// <summary>
    /// Parses <paramref name="spec"/>. <paramref name="dataset"/> and <paramref name="imageShape"/> ([C, H, W]) are needed
    /// only by the <c>standard</c> preset. Throws a <see cref="LoomException"/> naming the position of the first problem.
    /// </summary>
    public static Compose Parse(string spec, string? dataset = null, Shape? imageShape = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var items = new Reader(spec).ReadItems();
        var steps = new List<Augmentation>();
        foreach (var item in items)
        {
            var context = new ItemContext(spec, item);
            switch (item.Name.ToLowerInvariant())
            {
                case "none":
                    context.Arity(0, 0);
                    if (items.Count > 1) throw context.Error("'none' stands alone; leave it out to combine augmentations");
                    break;
                case "standard":
                    context.Arity(0, 0);
                    if (imageShape is not { } shape)
                        throw context.Error("the preset 'standard' depends on the images, and no image shape was given");
                    steps.AddRange(Standard(dataset, shape).Steps);
                    break;
                case "flip" or "hflip":
                    context.Arity(0, 1);
                    steps.Add(context.Build(() => new RandomHorizontalFlip(item.Args.Count == 0 ? 0.5 : context.Number(0, "probability", 0, 1))));
                    break;
                case "crop":
                    context.Arity(1, 2);
                    {
                        var (h, w) = context.Size(0, "size");
                        var padding = item.Args.Count > 1 ? context.Integer(1, "padding", 0) : 0;
                        steps.Add(context.Build(() => new RandomCrop((h, w), padding)));
                    }
                    break;
                case "rotate" or "rotation":
                    context.Arity(1, 1);
                    {
                        var (lo, hi, single) = context.NumberOrRange(0, "degrees");
                        if (single && lo < 0) throw context.ArgumentError(0, $"rotate's degrees must be ≥ 0 (or a range a-b), not '{item.Args[0].Text}'");
                        steps.Add(context.Build(() => single ? new RandomRotation(lo) : new RandomRotation(lo, hi)));
                    }
                    break;
                case "jitter":
                    context.Arity(1, 4);
                    {
                        string[] what = ["brightness", "contrast", "saturation", "hue"];
                        var ranges = new FactorRange?[4];
                        for (var k = 0; k < item.Args.Count; k++)
                        {
                            var (lo, hi, single) = context.NumberOrRange(k, what[k]);
                            if (single && lo < 0) throw context.ArgumentError(k, $"jitter's {what[k]} must be ≥ 0 (or a range lo-hi), not '{item.Args[k].Text}'");
                            if (single && k == 3 && lo > 0.5)
                                throw context.ArgumentError(k, $"jitter's hue must be from 0 to 0.5 (or a range lo-hi within -0.5 to 0.5), not '{item.Args[k].Text}'");
                            ranges[k] = !single ? new FactorRange(lo, hi)
                                : lo == 0 ? null
                                : k == 3 ? new FactorRange(-lo, lo) : new FactorRange(Math.Max(0, 1 - lo), 1 + lo);
                        }
                        steps.Add(context.Build(() => new ColorJitter(ranges[0], ranges[1], ranges[2], ranges[3])));
                    }
                    break;
                case "blur":
                    context.Arity(1, 2);
                    {
                        var (kh, kw) = context.Size(0, "kernel size");
                        var (lo, hi) = (GaussianBlur.DefaultSigmaMin, GaussianBlur.DefaultSigmaMax);
                        if (item.Args.Count > 1) (lo, hi, _) = context.NumberOrRange(1, "sigma");
                        steps.Add(context.Build(() => new GaussianBlur((kh, kw), lo, hi)));
                    }
                    break;
                case "normalize" or "normalise":
                    context.Arity(2, 2);
                    {
                        var mean = context.List(0, "mean");
                        var std = context.List(1, "std");
                        steps.Add(context.Build(() => new Normalize(new Normalization(mean, std))));
                    }
                    break;
                default:
                    throw context.Error($"unknown augmentation '{item.Name}'; known: {string.Join(", ", Names)}, and the presets {string.Join(", ", Presets)}");
            }
        }
        return new Compose(steps);
    }

    /// <summary>
    /// The <c>standard</c> preset for a dataset of images of <paramref name="imageShape"/> [C, H, W]:
    /// <list type="bullet">
    /// <item><b>digits</b>: <c>crop(28,2)</c> only — shifts by up to 2 pixels; no flip, since a mirrored 2, 3, 4, 5,
    /// 7 or 9 is not that digit.</item>
    /// <item><b>fashion-mnist</b>: <c>flip,crop(28,2)</c> — clothes mirrored are still the same clothes.</item>
    /// <item>other 1-channel images: <c>crop(HxW,p)</c>, p = max(1, min(H, W)/14) (2 for 28), no flip (they may be
    /// characters).</item>
    /// <item>colour images (image folders): <c>flip,crop(HxW,p)</c>, p = max(1, min(H, W)/8) — CIFAR's recipe,
    /// <c>flip,crop(32,4)</c> for 32×32.</item>
    /// </list>
    /// </summary>
    public static Compose Standard(string? dataset, Shape imageShape)
    {
        if (imageShape.Rank != 3 || imageShape[0] <= 0 || imageShape[1] <= 0 || imageShape[2] <= 0)
            throw new LoomException($"augment standard: an image shape is [C, H, W], not {imageShape}");
        var (c, h, w) = (imageShape[0], imageShape[1], imageShape[2]);
        var side = Math.Min(h, w);
        if (dataset == "digits") return new Compose(new RandomCrop((h, w), Math.Max(1, side / 14)));
        if (dataset == "fashion-mnist") return new Compose(new RandomHorizontalFlip(), new RandomCrop((h, w), Math.Max(1, side / 14)));
        if (c == 1) return new Compose(new RandomCrop((h, w), Math.Max(1, side / 14)));
        return new Compose(new RandomHorizontalFlip(), new RandomCrop((h, w), Math.Max(1, side / 8)));
    }

    /// <summary>A number as the spec writes it: the shortest text that reads back the same, invariant culture.</summary>
    internal static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A float as the spec writes it (shortest round-trip text).</summary>
    internal static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private readonly record struct Argument(string Text, int Position);

    private sealed record Item(string Name, int Position, List<Argument> Args);

    /// <summary>Splits the text into items and their arguments, remembering 1-based character positions.</summary>
    private sealed class Reader(string spec)
    {
        private int _i;

        public List<Item> ReadItems()
        {
            var items = new List<Item>();
            SkipSpaces();
            if (_i == spec.Length)
                throw new LoomException($"augment: the spec is empty; give steps such as flip,crop(32,4) or a preset ({string.Join(", ", Presets)})");
            while (true)
            {
                items.Add(ReadItem());
                SkipSpaces();
                if (_i == spec.Length) return items;
                if (spec[_i] != ',') throw Error(_i, $"expected ',' or the end, found '{spec[_i]}'");
                var comma = _i++;
                SkipSpaces();
                if (_i == spec.Length) throw Error(comma, "a step is missing after the last ','");
            }
        }

        private Item ReadItem()
        {
            var start = _i;
            while (_i < spec.Length && char.IsAsciiLetter(spec[_i])) _i++;
            if (_i == start) throw Error(_i, $"expected an augmentation name, found '{spec[_i]}'");
            var name = spec[start.._i];
            SkipSpaces();
            var args = new List<Argument>();
            if (_i < spec.Length && spec[_i] == '(')
            {
                var open = _i++;
                var argStart = _i;
                while (true)
                {
                    if (_i == spec.Length) throw Error(open, $"the '(' after {name} is never closed");
                    var ch = spec[_i];
                    if (ch == '(') throw Error(_i, "parentheses do not nest");
                    if (ch is ',' or ')')
                    {
                        args.Add(Trim(argStart, _i, name, args.Count));
                        _i++;
                        if (ch == ')') break;
                        argStart = _i;
                        continue;
                    }
                    _i++;
                }
                if (args is [{ Text: "" }]) args.Clear();   // name() is name
            }
            return new Item(name, start + 1, args);
        }

        private Argument Trim(int start, int end, string name, int index)
        {
            while (start < end && char.IsWhiteSpace(spec[start])) start++;
            while (end > start && char.IsWhiteSpace(spec[end - 1])) end--;
            var text = spec[start..end];
            if (text.Length == 0 && index > 0) throw Error(start, $"argument {index + 1} of {name} is empty");
            return new Argument(text, start + 1);
        }

        private void SkipSpaces()
        {
            while (_i < spec.Length && char.IsWhiteSpace(spec[_i])) _i++;
        }

        private LoomException Error(int index, string message) =>
            new($"augment: {message} (character {index + 1} of \"{spec}\")");
    }

    /// <summary>Reads the arguments of one item, with errors naming their positions.</summary>
    private sealed class ItemContext(string spec, Item item)
    {
        public LoomException Error(string message) => new($"augment: {message} (character {item.Position} of \"{spec}\")");

        public LoomException ArgumentError(int k, string message) =>
            new($"augment: {message} (character {item.Args[k].Position} of \"{spec}\")");

        public void Arity(int min, int max)
        {
            var n = item.Args.Count;
            if (n >= min && n <= max) return;
            var expected = max == 0 ? "no arguments" : min == max ? $"{min} argument{(min == 1 ? "" : "s")}" : $"{min} to {max} arguments";
            throw Error($"{item.Name} takes {expected}, not {n}");
        }

        public Augmentation Build(Func<Augmentation> make)
        {
            try
            {
                return make();
            }
            catch (LoomException e) when (!e.Message.Contains("(character ", StringComparison.Ordinal))
            {
                throw new LoomException($"{e.Message} (character {item.Position} of \"{spec}\")", e);
            }
        }

        public double Number(int k, string what, double min, double max)
        {
            var a = item.Args[k];
            if (!TryNumber(a.Text, out var v) || v < min || v > max)
                throw ArgumentError(k, $"{item.Name}'s {what} must be a number from {Format(min)} to {Format(max)}, not '{a.Text}'");
            return v;
        }

        public int Integer(int k, string what, int min)
        {
            var a = item.Args[k];
            if (!int.TryParse(a.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < min)
                throw ArgumentError(k, $"{item.Name}'s {what} must be a whole number ≥ {min}, not '{a.Text}'");
            return v;
        }

        /// <summary><c>28</c> (square) or <c>HxW</c>.</summary>
        public (int Height, int Width) Size(int k, string what)
        {
            var a = item.Args[k];
            var parts = a.Text.Split('x', '×', 'X');
            if (parts.Length is 1 or 2
                && int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var h) && h > 0
                && (parts.Length == 1 || (int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var w2) && w2 > 0)))
            {
                var w = parts.Length == 1 ? h : int.Parse(parts[1].Trim(), CultureInfo.InvariantCulture);
                return (h, w);
            }
            throw ArgumentError(k, $"{item.Name}'s {what} must be a positive whole number or HxW, not '{a.Text}'");
        }

        /// <summary>A number x (Single = true, Lo = Hi = x) or a range <c>lo-hi</c> (either may be negative).</summary>
        public (double Lo, double Hi, bool Single) NumberOrRange(int k, string what)
        {
            var text = item.Args[k].Text;
            if (TryNumber(text, out var x)) return (x, x, true);
            for (var j = 1; j < text.Length; j++)
            {
                if (text[j] != '-' || text[j - 1] is 'e' or 'E') continue;
                if (TryNumber(text[..j], out var lo) && TryNumber(text[(j + 1)..], out var hi))
                {
                    if (lo > hi) throw ArgumentError(k, $"{item.Name}'s {what} range '{text}' must be increasing");
                    return (lo, hi, false);
                }
            }
            throw ArgumentError(k, $"{item.Name}'s {what} must be a number or a range lo-hi, not '{text}'");
        }

        /// <summary>One number or several separated by '/'.</summary>
        public float[] List(int k, string what)
        {
            var a = item.Args[k];
            var parts = a.Text.Split('/');
            var values = new float[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!TryNumber(parts[i].Trim(), out var v))
                    throw ArgumentError(k, $"{item.Name}'s {what} must be a number or numbers separated by '/', not '{a.Text}'");
                values[i] = (float)v;
            }
            return values;
        }

        private static bool TryNumber(string text, out double value) =>
            double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }
}
