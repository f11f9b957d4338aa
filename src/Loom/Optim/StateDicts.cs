using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Loom.Optim;

/// <summary>
/// An optimiser's state, split the way a checkpoint stores it: per-parameter tensors (for a safetensors file) and
/// scalars (for JSON). Keys follow PyTorch's <c>optimizer.state_dict()</c>, flattened:
/// tensors <c>state.{i}.{buffer}</c> (<c>momentum_buffer</c>, <c>exp_avg</c>, <c>exp_avg_sq</c>,
/// <c>max_exp_avg_sq</c>, <c>square_avg</c>, <c>grad_avg</c>), scalars <c>state.{i}.step</c> and
/// <c>param_groups.{g}.{hyper-parameter}</c> (booleans as 0/1, Adam's betas as <c>betas.0</c>/<c>betas.1</c>),
/// <c>param_groups.{g}.num_params</c>, <c>param_groups.{g}.initial_lr</c> when a schedule set it. <c>i</c> numbers
/// the parameters across groups in order. docs/optim.md lists them all.
/// </summary>
public sealed class OptimizerStateDict
{
    /// <summary>Wraps the parts; <see cref="Optimizer.StateDict"/> makes one.</summary>
    public OptimizerStateDict(string kind, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, double> scalars)
    {
        Kind = kind;
        Tensors = tensors;
        Scalars = scalars;
    }

    /// <summary>Which optimiser wrote it (<c>sgd</c>, <c>adam</c>, <c>adamw</c>, <c>rmsprop</c>).</summary>
    public string Kind { get; }

    /// <summary>Per-parameter buffers, copies taken when the state dict was made.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>Step counts and hyper-parameters.</summary>
    public IReadOnlyDictionary<string, double> Scalars { get; }

    /// <summary>The kind and scalars as one JSON object (keys sorted; exact round trip of every double, ±Infinity and
    /// NaN as strings). The tensors go elsewhere (a safetensors file).</summary>
    public string ToJson() => StateJson.Write(Kind, Scalars);

    /// <summary>Rebuilds a state dict from <see cref="ToJson"/>'s text and the tensors saved beside it.</summary>
    public static OptimizerStateDict FromJson(string json, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var (kind, scalars) = StateJson.Read(json, "optimizer state");
        return new OptimizerStateDict(kind, tensors, scalars);
    }
}

/// <summary>
/// A schedule's state: scalars only (<c>last_epoch</c>, <c>base_lrs.{g}</c>, <c>last_lr.{g}</c>, and for
/// <see cref="ReduceLROnPlateau"/> <c>best</c>, <c>num_bad_epochs</c>, <c>cooldown_counter</c>; a
/// <see cref="SequentialLR"/> nests its schedules' keys under <c>schedulers.{k}.</c>).
/// </summary>
public sealed class SchedulerStateDict
{
    /// <summary>Wraps the parts; a schedule's <c>StateDict()</c> makes one.</summary>
    public SchedulerStateDict(string kind, IReadOnlyDictionary<string, double> scalars)
    {
        Kind = kind;
        Scalars = scalars;
    }

    /// <summary>Which schedule wrote it (<c>step_lr</c>, <c>cosine_annealing_lr</c>, …).</summary>
    public string Kind { get; }

    /// <summary>The schedule's counters and learning rates.</summary>
    public IReadOnlyDictionary<string, double> Scalars { get; }

    /// <summary>One JSON object (keys sorted, doubles exact, ±Infinity and NaN as strings).</summary>
    public string ToJson() => StateJson.Write(Kind, Scalars);

    /// <summary>Parses <see cref="ToJson"/>'s text.</summary>
    public static SchedulerStateDict FromJson(string json)
    {
        var (kind, scalars) = StateJson.Read(json, "scheduler state");
        return new SchedulerStateDict(kind, scalars);
    }
}

/// <summary>The JSON form of a state dict's scalars: <c>{"kind": "adam", "scalars": {"param_groups.0.lr": 0.001, …}}</c>.</summary>
internal static class StateJson
{
    public static string Write(string kind, IReadOnlyDictionary<string, double> scalars)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("kind", kind);
            w.WriteStartObject("scalars");
            foreach (var key in scalars.Keys.Order(StringComparer.Ordinal))
            {
                var v = scalars[key];
                if (double.IsFinite(v)) w.WriteNumber(key, v);
                else w.WriteString(key, v.ToString(CultureInfo.InvariantCulture));
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static (string Kind, Dictionary<string, double> Scalars) Read(string json, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("kind", out var kindElement) || kindElement.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("scalars", out var scalarsElement) || scalarsElement.ValueKind != JsonValueKind.Object)
            {
                throw new LoomException($"{what}: expected an object with a string \"kind\" and an object \"scalars\"");
            }
            var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in scalarsElement.EnumerateObject())
            {
                scalars[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.Number => p.Value.GetDouble(),
                    JsonValueKind.String when double.TryParse(p.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) => v,
                    _ => throw new LoomException($"{what}: scalar \"{p.Name}\" is not a number: {p.Value.GetRawText()}"),
                };
            }
            return (kindElement.GetString()!, scalars);
        }
        catch (JsonException e)
        {
            throw new LoomException($"{what}: not valid JSON: {e.Message}", e);
        }
    }
}

/// <summary>Reads scalars from a state dict by key, remembering which it used so leftovers can be reported.</summary>
internal sealed class ScalarReader(IReadOnlyDictionary<string, double> scalars, string op)
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public double Get(string key)
    {
        if (!scalars.TryGetValue(key, out var v))
            throw new LoomException($"{op}: the state dict has no \"{key}\"");
        _used.Add(key);
        return v;
    }

    public bool TryGet(string key, out double value)
    {
        if (!scalars.TryGetValue(key, out value)) return false;
        _used.Add(key);
        return true;
    }

    public bool GetBool(string key)
    {
        var v = Get(key);
        return v switch
        {
            0 => false,
            1 => true,
            _ => throw new LoomException($"{op}: \"{key}\" must be 0 or 1 (a flag), got {v}"),
        };
    }

    public int GetInt(string key, int min = int.MinValue)
    {
        var v = Get(key);
        if (v != Math.Floor(v) || v < min || v > int.MaxValue)
            throw new LoomException($"{op}: \"{key}\" must be a whole number ≥ {min}, got {v}");
        return (int)v;
    }

    /// <summary>Throws if the state dict holds keys nobody read (it was written by something else).</summary>
    public void RejectUnused()
    {
        foreach (var key in scalars.Keys.Order(StringComparer.Ordinal))
        {
            if (!_used.Contains(key))
                throw new LoomException($"{op}: unexpected key \"{key}\" in the state dict (was it saved from another optimiser or schedule?)");
        }
    }
}
