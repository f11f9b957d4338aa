namespace Loom.Nn;

/// <summary>
/// y = body(x) + shortcut(x), the residual connection of ResNet. The shortcut is the identity unless given
/// (e.g. a 1×1 convolution with batch norm when the body changes the shape).
/// Keys: <c>body.*</c> and <c>shortcut.*</c>.
/// </summary>
public sealed class Residual : Module
{
    public Residual(Module body, Module? shortcut = null)
    {
        Body = RegisterModule("body", body);
        if (shortcut is not null) Shortcut = RegisterModule("shortcut", shortcut);
    }

    public Module Body { get; }

    public Module? Shortcut { get; }

    public override Tensor Forward(Tensor input)
    {
        var y = Body.Forward(input);
        var skip = Shortcut?.Forward(input) ?? input;
        if (y.Shape != skip.Shape)
            throw new LoomException($"residual: the body's output {y.Shape} differs from the shortcut's {skip.Shape}; give a projection shortcut");
        return y + skip;
    }
}

/// <summary>
/// ResNet's BasicBlock (torchvision names): relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)), 3×3 convolutions,
/// the first with the stride; downsample = 1×1 conv (stride) + batch norm when the stride or width changes.
/// Shape: (N, C_in, H, W) → (N, planes, ⌈H/s⌉, ⌈W/s⌉).
/// </summary>
public sealed class BasicBlock : Module
{
    public BasicBlock(int inPlanes, int planes, int stride = 1, Generator? generator = null)
    {
        Conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false, generator: generator));
        Bn1 = RegisterModule("bn1", new BatchNorm2d(planes));
        Conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false, generator: generator));
        Bn2 = RegisterModule("bn2", new BatchNorm2d(planes));
        if (stride != 1 || inPlanes != planes)
            Downsample = RegisterModule("downsample", new Sequential(new Conv2d(inPlanes, planes, 1, stride, 0, bias: false, generator: generator), new BatchNorm2d(planes)));
        InPlanes = inPlanes;
        Planes = planes;
        Stride = stride;
    }

    public int InPlanes { get; }

    public int Planes { get; }

    public int Stride { get; }

    public Conv2d Conv1 { get; }

    public BatchNorm2d Bn1 { get; }

    public Conv2d Conv2 { get; }

    public BatchNorm2d Bn2 { get; }

    public Sequential? Downsample { get; }

    public override Tensor Forward(Tensor input)
    {
        // Under no-grad nothing else holds the block's intermediates: each goes back to the storage pool as soon as
        // its successor exists (a ResNet evaluated at batch 500 kept all of them until the batch ended).
        var recycle = !Autograd.IsGradEnabled && StoragePool.Enabled;
        Tensor Next(Tensor previous, Tensor next)
        {
            if (recycle) Sequential.GiveBackIntermediate(previous, input, next);
            return next;
        }
        var c1 = Conv1.Forward(input);
        var b1 = Next(c1, Bn1.Forward(c1));
        var r1 = Next(b1, Functional.Relu(b1));
        var c2 = Next(r1, Conv2.Forward(r1));
        var y = Next(c2, Bn2.Forward(c2));
        var skip = Downsample?.Forward(input) ?? input;
        var sum = Next(y, y + skip);
        if (recycle && !ReferenceEquals(skip, input)) Sequential.GiveBackIntermediate(skip, input, sum);
        return Next(sum, Functional.Relu(sum));
    }

    public override string ExtraRepr() => $"{InPlanes}, {Planes}, stride={Stride}";
}
