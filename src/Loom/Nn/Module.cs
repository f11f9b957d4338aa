namespace Loom.Nn;

/// <summary>
/// Base of every layer and model: owns named parameters, buffers and child modules, in registration order, so
/// <see cref="StateDict"/> yields PyTorch's exact keys (<c>conv1.weight</c>, <c>0.bias</c>, <c>bn.running_mean</c>).
/// </summary>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];

    /// <summary>True in training mode (dropout active, batch norm uses batch statistics).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Applies the module.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Same as <see cref="Forward"/> (PyTorch's <c>module(x)</c>).</summary>
    public Tensor Call(Tensor input) => Forward(input);

    /// <summary>A short description of the layer's configuration, as PyTorch's <c>extra_repr</c>.</summary>
    public virtual string ExtraRepr() => "";

    /// <summary>The layer's name for printing (<c>Conv2d</c>, <c>ReLU</c>…).</summary>
    public virtual string TypeName => GetType().Name;

    /// <summary>Registers a parameter (made a leaf that requires grad).</summary>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        CheckName(name);
        value.RequiresGrad_();
        _parameters.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a buffer: state saved in the state dict but not trained (running statistics).</summary>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        CheckName(name);
        _buffers.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _children.Add(new(name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
            throw new LoomException($"module: invalid name '{name}' (non-empty, no dots)");
        if (_parameters.Any(p => p.Key == name) || _buffers.Any(b => b.Key == name) || _children.Any(c => c.Key == name))
            throw new LoomException($"module: name '{name}' is already registered in {TypeName}");
    }

    /// <summary>Replaces a registered parameter or buffer tensor (used when a layer re-creates its weights).</summary>
    protected void ReplaceTensor(string name, Tensor value)
    {
        for (var i = 0; i < _parameters.Count; i++)
            if (_parameters[i].Key == name) { _parameters[i] = new(name, value.RequiresGrad_()); return; }
        for (var i = 0; i < _buffers.Count; i++)
            if (_buffers[i].Key == name) { _buffers[i] = new(name, value); return; }
        throw new LoomException($"module: no parameter or buffer named '{name}' in {TypeName}");
    }

    /// <summary>Direct children with their names.</summary>
    public IReadOnlyList<KeyValuePair<string, Module>> NamedChildren() => _children;

    /// <summary>All parameters with dotted names, depth-first in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters(string prefix = "")
    {
        foreach (var p in _parameters) yield return new(prefix + p.Key, p.Value);
        foreach (var c in _children)
            foreach (var p in c.Value.NamedParameters(prefix + c.Key + ".")) yield return p;
    }

    /// <summary>All buffers with dotted names.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers(string prefix = "")
    {
        foreach (var b in _buffers) yield return new(prefix + b.Key, b.Value);
        foreach (var c in _children)
            foreach (var b in c.Value.NamedBuffers(prefix + c.Key + ".")) yield return b;
    }

    /// <summary>All parameters.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Value);

    /// <summary>This module and all descendants, depth-first.</summary>
    public IEnumerable<KeyValuePair<string, Module>> NamedModules(string prefix = "")
    {
        yield return new(prefix, this);
        foreach (var c in _children)
            foreach (var m in c.Value.NamedModules(prefix.Length == 0 ? c.Key : prefix + "." + c.Key)) yield return m;
    }

    /// <summary>Number of trainable values.</summary>
    public long ParameterCount() => Parameters().Sum(p => (long)p.Numel);

    /// <summary>
    /// Parameters and buffers by PyTorch's keys, in PyTorch's order (each module: its parameters, then its buffers,
    /// then its children). The tensors are the live ones; clone to snapshot.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>();
        Collect(this, "", dict);
        return dict;

        static void Collect(Module m, string prefix, Dictionary<string, Tensor> dict)
        {
            foreach (var p in m._parameters) dict[prefix + p.Key] = p.Value;
            foreach (var b in m._buffers) dict[prefix + b.Key] = b.Value;
            foreach (var c in m._children) Collect(c.Value, prefix + c.Key + ".", dict);
        }
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers. With
    /// <paramref name="strict"/>, missing or unexpected keys are an error; a shape mismatch always is.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var problems = new List<string>();
        if (strict && missing.Count > 0) problems.Add("missing keys: " + string.Join(", ", missing));
        if (strict && unexpected.Count > 0) problems.Add("unexpected keys: " + string.Join(", ", unexpected));
        foreach (var (key, target) in own)
        {
            if (!state.TryGetValue(key, out var source)) continue;
            if (source.Shape != target.Shape) problems.Add($"{key}: checkpoint has shape {source.Shape}, model has {target.Shape}");
        }
        if (problems.Count > 0) throw new LoomException("load_state_dict: " + string.Join("; ", problems));
        foreach (var (key, target) in own)
        {
            if (state.TryGetValue(key, out var source)) target.CopyFrom(source);
        }
    }

    /// <summary>
    /// Loads a state dict saved as safetensors (by <c>Safetensors.Save(path, model.StateDict())</c>, by PyTorch via
    /// <c>safetensors.torch.save_file</c>, or by <c>tools/torch_to_safetensors.py</c>) into this module. PyTorch's int64
    /// <c>num_batches_tracked</c> and float16/bfloat16 weights are converted. With <paramref name="strict"/>, missing
    /// and unexpected keys are an error; a mis-shaped key always is; every error names the file and the keys.
    /// </summary>
    /// <example><code>
    /// var model = ModelBuilder.Build("smallcnn", new Shape(1, 28, 28)).Model;
    /// model.LoadStateDict("runs/digits/model.safetensors");
    /// </code></example>
    public void LoadStateDict(string path, bool strict = true)
    {
        var state = Interop.Safetensors.Load(path).Tensors;
        try
        {
            LoadStateDict(state, strict);
        }
        catch (LoomException e)
        {
            throw new LoomException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Sets training mode on this module and all children.</summary>
    public Module Train(bool mode = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = mode;
        return this;
    }

    /// <summary>Sets evaluation mode (PyTorch's <c>eval()</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears every parameter's gradient (set to null, as PyTorch's default).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.DropGrad();
    }

    /// <summary>Converts every parameter and buffer of float type to <paramref name="dtype"/> in place (PyTorch's <c>.double()</c>).</summary>
    public Module To(DType dtype)
    {
        foreach (var (_, m) in NamedModules())
        {
            for (var i = 0; i < m._parameters.Count; i++)
            {
                var (k, v) = m._parameters[i];
                if (v.DType != DType.Int32 && v.DType != dtype) m._parameters[i] = new(k, v.Detach().To(dtype).RequiresGrad_());
            }
            for (var i = 0; i < m._buffers.Count; i++)
            {
                var (k, v) = m._buffers[i];
                if (v.DType != DType.Int32 && v.DType != dtype) m._buffers[i] = new(k, v.To(dtype));
            }
            m.OnTensorsReplaced();
        }
        return this;
    }

    /// <summary>Called after <see cref="To"/> swapped tensors, so layers that cache them can refresh.</summary>
    protected virtual void OnTensorsReplaced() { }

    /// <summary>The tensor registered under <paramref name="name"/> on this module (parameter or buffer).</summary>
    protected Tensor Get(string name)
    {
        foreach (var p in _parameters) if (p.Key == name) return p.Value;
        foreach (var b in _buffers) if (b.Key == name) return b.Value;
        throw new LoomException($"module: {TypeName} has no tensor '{name}'");
    }

    /// <summary>PyTorch-like printout of the module tree.</summary>
    public override string ToString()
    {
        if (_children.Count == 0) return $"{TypeName}({ExtraRepr()})";
        var lines = new List<string> { TypeName + "(" };
        foreach (var (name, child) in _children)
        {
            var text = child.ToString().Replace("\n", "\n  ", StringComparison.Ordinal);
            lines.Add($"  ({name}): {text}");
        }
        lines.Add(")");
        return string.Join("\n", lines);
    }
}
