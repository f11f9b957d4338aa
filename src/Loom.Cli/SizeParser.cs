using System.Globalization;

namespace Loom.Cli;

/// <summary>
/// Parses sizes as a user types them on the command line: a shape <c>CxHxW</c>, or a per-axis size <c>K</c> /
/// <c>KHxKW</c> (one value for every axis, or one per axis). Values are joined by <c>x</c> (<c>X</c> and <c>×</c> also
/// work). Errors are <see cref="LoomException"/>s naming the option, the expected form and what was found, so the
/// command line prints them as one line.
/// </summary>
internal static class SizeParser
{
    private static readonly char[] Separators = ['x', 'X', '×'];

    /// <summary>
    /// Parses exactly <paramref name="count"/> integers ≥ <paramref name="min"/> joined by <c>x</c>, e.g. a shape
    /// <c>3x32x32</c> for <paramref name="layout"/> <c>CxHxW</c>.
    /// </summary>
    /// <param name="text">What the user typed.</param>
    /// <param name="option">The option named in errors, e.g. <c>--input</c>.</param>
    /// <param name="layout">The form named in errors, e.g. <c>CxHxW</c>.</param>
    /// <param name="count">How many values.</param>
    /// <param name="min">The smallest value accepted (1: positive, 0: non-negative).</param>
    public static int[] Parse(string? text, string option, string layout, int count, int min = 1)
    {
        var values = ParseValues(text, option, $"{layout} ({count} {Kind(min)} joined by 'x', e.g. {Example(count)})", min);
        if (values.Length != count)
        {
            throw new LoomException($"{option}: expected {layout} ({count} {Kind(min)} joined by 'x', e.g. {Example(count)}), "
                + $"found '{text}' ({values.Length} value{(values.Length == 1 ? "" : "s")})");
        }
        return values;
    }

    /// <summary>
    /// Parses one value for every axis (<c>3</c> → <c>[3, 3]</c>) or one value per axis (<c>4x5</c> → <c>[4, 5]</c>),
    /// each ≥ <paramref name="min"/>; returns <paramref name="axes"/> values.
    /// </summary>
    /// <param name="text">What the user typed.</param>
    /// <param name="option">The option named in errors, e.g. <c>--kernel</c>.</param>
    /// <param name="layout">The forms named in errors, e.g. <c>K or KHxKW</c>.</param>
    /// <param name="axes">How many spatial axes.</param>
    /// <param name="min">The smallest value accepted (1: positive, 0: non-negative).</param>
    public static int[] ParsePerAxis(string? text, string option, string layout, int axes, int min = 1)
    {
        var expected = $"{layout} ({Kind(min)}{(axes > 1 ? $", one for every axis or {axes} joined by 'x'" : "")})";
        var values = ParseValues(text, option, expected, min);
        if (values.Length == 1) return [.. Enumerable.Repeat(values[0], axes)];
        if (values.Length == axes) return values;
        throw new LoomException($"{option}: expected {expected}, found '{text}' ({values.Length} values)");
    }

    /// <summary>Checks a single integer option: ≥ <paramref name="min"/>, else an error naming the option.</summary>
    public static int Check(int value, string option, int min = 1)
        => value >= min ? value : throw new LoomException($"{option}: expected a {(min == 1 ? "positive" : $"≥ {min}")} integer, found {value}");

    /// <summary>Writes sizes the way they are typed: <c>3x32x32</c>.</summary>
    public static string Format<T>(IEnumerable<T> sizes) => string.Join("x", sizes);

    private static int[] ParseValues(string? text, string option, string expected, int min)
    {
        var t = text?.Trim() ?? "";
        if (t.Length == 0) throw new LoomException($"{option}: expected {expected}, found nothing");
        var parts = t.Split(Separators);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var p = parts[i].Trim();
            if (!int.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]))
            {
                var what = p.Length == 0 ? "an empty value" : $"'{p}'";
                throw new LoomException($"{option}: expected {expected}, found '{text}' ({what} is not an integer)");
            }
            if (values[i] < min)
                throw new LoomException($"{option}: sizes must be {(min == 1 ? "positive" : "non-negative")}, found {values[i]} in '{text}'");
        }
        return values;
    }

    private static string Kind(int min) => min == 1 ? "positive integers" : min == 0 ? "non-negative integers" : $"integers ≥ {min}";

    private static string Example(int count) => count switch
    {
        1 => "16",
        2 => "3x32",
        3 => "3x32x32",
        _ => string.Join("x", Enumerable.Repeat(8, count)),
    };
}
