namespace Loom;

/// <summary>Helpers for the one-line error messages of <see cref="LoomException"/>.</summary>
internal static class ErrorText
{
    /// <summary>
    /// Control characters of user text quoted in an error, escaped (a newline as <c>\n</c>): errors are one line.
    /// Found by fuzzing: a spec token, and a safetensors header quoted by the JSON parser, holding a newline made
    /// two-line messages.
    /// </summary>
    public static string Visible(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var sb = new System.Text.StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsControl(c)) sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
