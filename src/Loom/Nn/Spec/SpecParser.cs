namespace Loom.Nn.Spec;

/// <summary>
/// Parses a model spec: layers separated by spaces, each <c>name</c> or <c>name(arg, key=value, …)</c>; a value may
/// be a bracketed list <c>[0,1,2,0]</c>; a block such as <c>res(…)</c> holds a nested spec. Positions in errors are
/// 1-based character offsets into the string.
/// </summary>
public static class SpecParser
{
    public static IReadOnlyList<LayerSpec> Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var pos = 0;
        var layers = ParseSequence(spec, ref pos, closing: null);
        if (layers.Count == 0) throw new LoomException("spec: the model spec is empty (expected layers such as \"linear(10)\")");
        return layers;
    }

    private static List<LayerSpec> ParseSequence(string s, ref int pos, char? closing)
    {
        var layers = new List<LayerSpec>();
        while (true)
        {
            SkipSpaces(s, ref pos);
            if (pos >= s.Length)
            {
                if (closing is not null) throw new LoomException($"spec: missing ')' at the end (position {pos + 1})");
                return layers;
            }
            if (closing is not null && s[pos] == closing) return layers;
            if (s[pos] == ',' && closing is not null) return layers;
            layers.Add(ParseLayer(s, ref pos));
        }
    }

    private static LayerSpec ParseLayer(string s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && (char.IsLetterOrDigit(s[pos]) || s[pos] == '_' || s[pos] == '-')) pos++;
        if (pos == start)
            throw new LoomException($"spec: unexpected '{s[pos]}' at position {pos + 1} (expected a layer name)");
        var name = s[start..pos].ToLowerInvariant();
        if (!char.IsLetter(name[0])) throw new LoomException($"spec: layer name '{name}' at position {start + 1} must start with a letter");
        var args = new List<SpecArgument>();
        if (pos < s.Length && s[pos] == '(')
        {
            pos++;
            while (true)
            {
                SkipSpaces(s, ref pos);
                if (pos >= s.Length) throw new LoomException($"spec: missing ')' for {name} opened at position {start + 1}");
                if (s[pos] == ')') { pos++; break; }
                args.Add(ParseArgument(s, ref pos, name));
                SkipSpaces(s, ref pos);
                if (pos < s.Length && s[pos] == ',') { pos++; continue; }
                if (pos < s.Length && s[pos] == ')') { pos++; break; }
                if (pos >= s.Length) throw new LoomException($"spec: missing ')' for {name} opened at position {start + 1}");
                throw new LoomException($"spec: unexpected '{s[pos]}' at position {pos + 1} in the arguments of {name}");
            }
        }
        if (pos < s.Length && !char.IsWhiteSpace(s[pos]) && s[pos] != ')' && s[pos] != ',')
            throw new LoomException($"spec: unexpected '{s[pos]}' at position {pos + 1} after {name} (separate layers with spaces)");
        return new LayerSpec(name, args, start + 1, s[start..pos]);
    }

    private static SpecArgument ParseArgument(string s, ref int pos, string layer)
    {
        var start = pos;
        // A nested layer list: an identifier followed by '(' or by a space and another identifier.
        var save = pos;
        var ident = ReadToken(s, ref pos);
        SkipSpaces(s, ref pos);
        if (pos < s.Length && s[pos] == '=')
        {
            pos++;
            SkipSpaces(s, ref pos);
            var value = ReadValue(s, ref pos, layer);
            return new SpecArgument(ident.ToLowerInvariant(), value, null, start + 1);
        }
        pos = save;
        if (ident.Length > 0 && char.IsLetter(ident[0]) && !IsLiteral(ident))
        {
            var nested = ParseSequence(s, ref pos, ')');
            return new SpecArgument(null, null, nested, start + 1);
        }
        return new SpecArgument(null, ReadValue(s, ref pos, layer), null, start + 1);
    }

    private static bool IsLiteral(string token) => token.ToLowerInvariant() is "same" or "valid" or "true" or "false" or "inf";

    private static string ReadValue(string s, ref int pos, string layer)
    {
        if (pos < s.Length && s[pos] == '[')
        {
            var close = s.IndexOf(']', pos);
            if (close < 0) throw new LoomException($"spec: missing ']' for the list opened at position {pos + 1} in {layer}");
            var inner = s[(pos + 1)..close].Replace(" ", "", StringComparison.Ordinal);
            pos = close + 1;
            return inner;
        }
        var token = ReadToken(s, ref pos);
        if (token.Length == 0)
            throw new LoomException(ErrorText.Visible($"spec: expected a value at position {pos + 1} in {layer}, found '{(pos < s.Length ? s[pos] : ' ')}'"));
        return token;
    }

    private static string ReadToken(string s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && (char.IsLetterOrDigit(s[pos]) || s[pos] is '.' or '_' or '-' or '+')) pos++;
        return s[start..pos];
    }

    private static void SkipSpaces(string s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
    }
}
