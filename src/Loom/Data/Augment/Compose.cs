using System.Buffers;

namespace Loom.Data.Augment;

/// <summary>
/// Several augmentations applied in order, each drawing from the same generator in turn (torchvision's
/// <c>Compose</c>). Empty is the identity, whose spec is <c>none</c>.
/// </summary>
/// <example>
/// <code>
/// var augment = new Compose(new RandomHorizontalFlip(), new RandomCrop(32, padding: 4));
/// Console.WriteLine(augment);   // flip,crop(32,4)
/// </code>
/// </example>
public sealed class Compose : Augmentation
{
    private readonly Augmentation[] _steps;

    /// <summary>Composes <paramref name="steps"/>, first to last.</summary>
    public Compose(params IEnumerable<Augmentation> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        _steps = [.. steps];
        foreach (var step in _steps) ArgumentNullException.ThrowIfNull(step, nameof(steps));
    }

    /// <summary>The steps, first to last.</summary>
    public IReadOnlyList<Augmentation> Steps => _steps;

    /// <summary>True when there is no step (the identity).</summary>
    public bool IsEmpty => _steps.Length == 0;

    /// <inheritdoc/>
    public override bool RequiresUnitRange
    {
        get
        {
            foreach (var step in _steps)
            {
                if (step.RequiresUnitRange) return true;
            }
            return false;
        }
    }

    /// <inheritdoc/>
    public override bool Normalizes
    {
        get
        {
            foreach (var step in _steps)
            {
                if (step.Normalizes) return true;
            }
            return false;
        }
    }

    /// <inheritdoc/>
    protected override Shape OutputShapeCore(int channels, int height, int width)
    {
        var shape = new Shape(channels, height, width);
        foreach (var step in _steps) shape = step.OutputShape(shape);
        return shape;
    }

    /// <inheritdoc/>
    protected override void ApplyCore(ReadOnlySpan<float> source, Span<float> destination, int channels, int height, int width, Generator generator)
    {
        if (_steps.Length == 0)
        {
            source.CopyTo(destination);
            return;
        }
        if (_steps.Length == 1)
        {
            _steps[0].Apply(source, destination, new Shape(channels, height, width), generator);
            return;
        }
        // Ping-pong between two pooled buffers big enough for every intermediate image.
        var shape = new Shape(channels, height, width);
        var largest = shape.Numel;
        foreach (var step in _steps)
        {
            shape = step.OutputShape(shape);
            largest = Math.Max(largest, shape.Numel);
        }
        var a = ArrayPool<float>.Shared.Rent(largest);
        var b = ArrayPool<float>.Shared.Rent(largest);
        try
        {
            shape = new Shape(channels, height, width);
            ReadOnlySpan<float> current = source;
            var into = a;
            for (var i = 0; i < _steps.Length; i++)
            {
                var next = _steps[i].OutputShape(shape);
                var target = i == _steps.Length - 1 ? destination : into.AsSpan(0, next.Numel);
                _steps[i].Apply(current, target, shape, generator);
                current = target;
                shape = next;
                into = into == a ? b : a;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(a);
            ArrayPool<float>.Shared.Return(b);
        }
    }

    /// <summary>The steps' specs joined by commas, or <c>none</c>.</summary>
    public override string ToString() => _steps.Length == 0 ? "none" : string.Join(",", _steps.Select(s => s.ToString()));
}
