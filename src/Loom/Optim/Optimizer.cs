using System.Runtime.CompilerServices;
namespace Loom.Optim;

/// <summary>
/// Base of Loom's optimisers (<see cref="Sgd"/>, <see cref="Adam"/>, <see cref="AdamW"/>, <see cref="RmsProp"/>), as
/// PyTorch's <c>torch.optim.Optimizer</c>: parameter groups with their own hyper-parameters, per-parameter state
/// created on the first step, <see cref="Step"/>, <see cref="ZeroGrad"/> and a state dict for checkpoints.
/// </summary>
/// <example>
/// <code>
/// var opt = new Adam(model.Parameters(), new AdamOptions { Lr = 1e-3 });
/// opt.ZeroGrad();
/// loss.Backward();
/// opt.Step();
/// </code>
/// </example>
public abstract class Optimizer
{
    private readonly List<ParamGroup> _groups = [];
    private readonly List<ParamState> _states = [];
    private readonly HashSet<Tensor> _known = new(ReferenceEqualityComparer.Instance);

    private protected Optimizer(string name, IEnumerable<ParamGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Name = name;
        var list = groups.ToList();
        foreach (var g in list) Add(g, labelGroup: list.Count > 1);
        if (_states.Count == 0) throw new LoomException($"{name}: got an empty parameter list");
    }

    /// <summary>The optimiser's name in messages and state dicts: <c>sgd</c>, <c>adam</c>, <c>adamw</c>, <c>rmsprop</c>.</summary>
    public string Name { get; }

    /// <summary>The groups, in order (PyTorch's <c>param_groups</c>); schedules set their <see cref="ParamGroup.Lr"/>.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The options record type this optimiser's groups carry.</summary>
    private protected abstract Type OptionsType { get; }

    /// <summary>Names of the per-parameter buffers, in <see cref="ParamState.Buffers"/> order (state-dict keys).</summary>
    private protected abstract IReadOnlyList<string> BufferNames { get; }

    /// <summary>Whether the state dict carries a step count per parameter (Adam, RMSprop: yes; SGD: no).</summary>
    private protected virtual bool SavesStep => true;

    /// <summary>Applies one update to <paramref name="param"/> in place, given its gradient and state.</summary>
    private protected abstract void Update(OptimizerOptions options, Tensor param, Tensor grad, ParamState state);

    /// <summary>Adds a group (PyTorch's <c>add_param_group</c>): e.g. layers unfrozen during fine-tuning.</summary>
    public void AddParamGroup(ParamGroup group) => Add(group, labelGroup: true);

    private void Add(ParamGroup group, bool labelGroup)
    {
        ArgumentNullException.ThrowIfNull(group);
        var check = new OptionCheck(Name, labelGroup ? _groups.Count : -1);
        if (group.Options.GetType() != OptionsType)
            check.Fail($"the options are {group.Options.GetType().Name}; {Name} needs {OptionsType.Name}");
        group.Options.Validate(check);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (var k = 0; k < group.Params.Count; k++)
        {
            var p = group.Params[k];
            if (p.DType == DType.Int32)
                check.Fail($"parameter {k} (shape {p.Shape}) is int32; only float32 and float64 tensors can be optimised");
            if (!p.IsLeaf)
                check.Fail($"parameter {k} (shape {p.Shape}) is not a leaf (it was computed by an op); optimise the tensor it came from, or Detach() it");
            if (!seen.Add(p))
                check.Fail($"parameter {k} (shape {p.Shape}) appears twice in the group");
            if (_known.Contains(p))
                check.Fail($"parameter {k} (shape {p.Shape}) is already in another parameter group");
        }
        foreach (var p in group.Params)
        {
            _known.Add(p);
            _states.Add(new ParamState(BufferNames.Count));
        }
        _groups.Add(group);
    }

    /// <summary>
    /// Updates every parameter that has a gradient, in place and outside the autograd graph; parameters whose
    /// <see cref="Tensor.Grad"/> is null are skipped (their state and step count do not advance), as in PyTorch.
    /// Allocates nothing after the first step (state buffers are made once).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public void Step()
    {
        var index = 0;
        for (var gi = 0; gi < _groups.Count; gi++)
        {
            var group = _groups[gi];
            group.Options.Validate(new OptionCheck(Name, _groups.Count > 1 ? gi : -1));
            var ps = group.Params;
            for (var k = 0; k < ps.Count; k++, index++)
            {
                var p = ps[k];
                if (p.GradInternal is not { } grad) continue;
                if (grad.Shape != p.Shape || grad.DType != p.DType)
                {
                    throw new LoomException($"{Name}: the gradient of parameter {index} is {grad.DType.TorchName()} {grad.Shape} " +
                        $"but the parameter is {p.DType.TorchName()} {p.Shape}");
                }
                Update(group.Options, p, grad, _states[index]);
            }
        }
    }

    /// <summary>Clears the gradients: sets <see cref="Tensor.Grad"/> to null (PyTorch 2's default), or fills it with
    /// zeros when <paramref name="setToNone"/> is false. A gradient no caller ever read through <see cref="Tensor.Grad"/>
    /// is recycled for the next backward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // on every training step: optimized at first call (docs/performance.md, "JIT warm-up")
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var g in _groups)
        {
            foreach (var p in g.Params)
            {
                if (setToNone) p.DropGrad();
                else p.GradInternal?.Zero_();
            }
        }
    }

    /// <summary>A snapshot of the state (copies of the buffers) and of every group's hyper-parameters; see
    /// <see cref="OptimizerStateDict"/> for the keys.</summary>
    public OptimizerStateDict StateDict()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
        var names = BufferNames;
        for (var gi = 0; gi < _groups.Count; gi++)
        {
            var g = _groups[gi];
            var prefix = GroupPrefix(gi);
            g.Options.Write(scalars, prefix);
            scalars[prefix + "num_params"] = g.Params.Count;
            if (g.InitialLr is { } initial) scalars[prefix + "initial_lr"] = initial;
        }
        for (var i = 0; i < _states.Count; i++)
        {
            var s = _states[i];
            if (s.IsEmpty) continue;
            if (SavesStep) scalars[StateKey(i, "step")] = s.Step;
            for (var b = 0; b < names.Count; b++)
                if (s.Buffers[b] is { } t) tensors[StateKey(i, names[b])] = t.Clone();
        }
        return new OptimizerStateDict(Name, tensors, scalars);
    }

    /// <summary>
    /// Restores a state dict made by <see cref="StateDict"/> of an optimiser of the same kind over parameters of
    /// the same shapes and grouping: hyper-parameters, step counts and buffers. Everything is checked before
    /// anything changes; a mismatch throws a <see cref="LoomException"/> naming the key.
    /// </summary>
    public void LoadStateDict(OptimizerStateDict state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind != Name)
            throw new LoomException($"{Name}: cannot load the state of a '{state.Kind}' optimiser");
        var reader = new ScalarReader(state.Scalars, Name);
        if (state.Scalars.ContainsKey(GroupPrefix(_groups.Count) + "num_params"))
            throw new LoomException($"{Name}: the state dict has more than the optimiser's {_groups.Count} parameter groups");

        var options = new OptimizerOptions[_groups.Count];
        var initialLrs = new double?[_groups.Count];
        for (var gi = 0; gi < _groups.Count; gi++)
        {
            var prefix = GroupPrefix(gi);
            var count = reader.GetInt(prefix + "num_params", 0);
            if (count != _groups[gi].Params.Count)
                throw new LoomException($"{Name}: parameter group {gi} has {_groups[gi].Params.Count} parameters but the state dict's has {count}");
            var o = _groups[gi].Options with { };
            o.Read(reader, prefix);
            o.Validate(new OptionCheck(Name, gi));
            options[gi] = o;
            initialLrs[gi] = reader.TryGet(prefix + "initial_lr", out var initial) ? initial : null;
        }

        var names = BufferNames;
        var steps = new long[_states.Count];
        var buffers = new Tensor?[_states.Count, names.Count];
        var usedTensors = new HashSet<string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var g in _groups)
        {
            foreach (var p in g.Params)
            {
                if (SavesStep && reader.TryGet(StateKey(index, "step"), out var step))
                {
                    if (step < 0 || step != Math.Floor(step))
                        throw new LoomException($"{Name}: \"{StateKey(index, "step")}\" must be a whole number ≥ 0, got {step}");
                    steps[index] = (long)step;
                }
                for (var b = 0; b < names.Count; b++)
                {
                    var key = StateKey(index, names[b]);
                    if (!state.Tensors.TryGetValue(key, out var t)) continue;
                    if (t.Shape != p.Shape)
                        throw new LoomException($"{Name}: \"{key}\" has shape {t.Shape} but parameter {index} has shape {p.Shape}");
                    if (t.DType == DType.Int32)
                        throw new LoomException($"{Name}: \"{key}\" is int32; optimiser state is float32 or float64");
                    buffers[index, b] = t;
                    usedTensors.Add(key);
                }
                index++;
            }
        }
        reader.RejectUnused();
        foreach (var key in state.Tensors.Keys.Order(StringComparer.Ordinal))
        {
            if (!usedTensors.Contains(key))
                throw new LoomException($"{Name}: unexpected tensor \"{key}\" in the state dict (was it saved from another optimiser?)");
        }

        // Everything checked: commit.
        for (var gi = 0; gi < _groups.Count; gi++)
        {
            _groups[gi].Options = options[gi];
            _groups[gi].InitialLr = initialLrs[gi];
        }
        index = 0;
        foreach (var g in _groups)
        {
            foreach (var p in g.Params)
            {
                var s = _states[index];
                s.Step = steps[index];
                for (var b = 0; b < names.Count; b++)
                {
                    if (buffers[index, b] is not { } t)
                    {
                        s.Buffers[b] = null;
                        continue;
                    }
                    // Copy into the existing buffer when there is one (no new allocation), converting the type.
                    s.Buffers[b] ??= Tensor.Zeros(p.Shape, p.DType);
                    s.Buffers[b]!.CopyFrom(t);
                }
                index++;
            }
        }
    }

    private static string GroupPrefix(int group) => $"param_groups.{group}.";

    private static string StateKey(int index, string name) => $"state.{index}.{name}";
}
