using System.Globalization;

namespace Loom.Nn.Spec;

/// <summary>One argument of a layer in a model spec: a positional or named value, or a nested list of layers.</summary>
public sealed record SpecArgument(string? Name, string? Value, IReadOnlyList<LayerSpec>? Layers, int Position);

/// <summary>One layer of a model spec string, e.g. <c>conv(32,3,p=1)</c>, with where it starts in the string.</summary>
public sealed record LayerSpec(string Name, IReadOnlyList<SpecArgument> Arguments, int Position, string Text)
{
    /// <summary>Positional arguments (no name).</summary>
    public IEnumerable<SpecArgument> Positional => Arguments.Where(a => a.Name is null && a.Layers is null);

    /// <summary>The named argument with any of the given aliases, or null.</summary>
    public SpecArgument? Named(params string[] names) => Arguments.FirstOrDefault(a => a.Name is not null && names.Contains(a.Name));

    /// <summary>A spec error pointing at this layer.</summary>
    public LoomException Error(string message) => new($"spec: {Name} at position {Position}: {ErrorText.Visible(message)}");

    /// <summary>An integer argument: the i-th positional or a named one, else the default (null default = required).</summary>
    public int Int(int index, string[] names, int? defaultValue, string meaning)
    {
        var text = Raw(index, names);
        if (text is null)
        {
            return defaultValue ?? throw Error($"missing {meaning} (argument {index + 1})");
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw Error($"{meaning} must be an integer, found '{text}'");
        return v;
    }

    /// <summary>A floating-point argument.</summary>
    public double Double(int index, string[] names, double? defaultValue, string meaning)
    {
        var text = Raw(index, names);
        if (text is null) return defaultValue ?? throw Error($"missing {meaning} (argument {index + 1})");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            throw Error($"{meaning} must be a number, found '{text}'");
        return v;
    }

    /// <summary>A boolean named argument (true/false/1/0).</summary>
    public bool Bool(string[] names, bool defaultValue)
    {
        var a = Named(names);
        if (a?.Value is null) return defaultValue;
        return a.Value.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw Error($"{a.Name} must be true or false, found '{a.Value}'"),
        };
    }

    /// <summary>The raw text of the i-th positional argument or a named one.</summary>
    public string? Raw(int index, string[] names)
    {
        var named = Named(names);
        if (named is not null) return named.Value;
        var positional = Positional.ToList();
        return index >= 0 && index < positional.Count ? positional[index].Value : null;
    }

    /// <summary>Fails when more positional arguments were given than the layer takes, or an unknown name.</summary>
    public void Expect(int maxPositional, params string[] allowedNames)
    {
        var positional = Positional.ToList();
        if (positional.Count > maxPositional)
            throw Error($"takes at most {maxPositional} positional argument{(maxPositional == 1 ? "" : "s")}, found {positional.Count}");
        foreach (var a in Arguments)
        {
            if (a.Name is not null && !allowedNames.Contains(a.Name))
                throw Error($"unknown argument '{a.Name}' at position {a.Position}" +
                            (allowedNames.Length > 0 ? $" (known: {string.Join(", ", allowedNames)})" : ""));
            if (a.Layers is not null) throw Error($"does not take a list of layers (position {a.Position})");
        }
    }
}
