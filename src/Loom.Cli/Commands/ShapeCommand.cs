using System.CommandLine;
using Loom.Geometry;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom shape conv1d|conv2d|convtranspose2d|maxpool2d|avgpool2d</c>: the output shape of one layer, computed by
/// <see cref="ConvGeometry"/> (the one place the formula lives), with <c>--explain</c> (the formula per axis, numbers
/// substituted) and <c>--json</c> (one object with <c>output</c> and the per-axis details).
/// </summary>
internal static class ShapeCommand
{
    private static readonly AxisName[] Axes1d = [new("length", "L", "left", "right")];
    private static readonly AxisName[] Axes2d = [new("height", "H", "top", "bottom"), new("width", "W", "left", "right")];

    public static Command Create()
    {
        var shape = new Command("shape", "The output shape of a convolution or pooling layer, derived per axis: "
            + "floor((L + p_lo + p_hi − d·(k−1) − 1)/s) + 1, with --explain showing the numbers substituted.");
        shape.Subcommands.Add(Conv("conv1d", Axes1d, "A 1-D convolution (PyTorch's Conv1d) over an input CxL.")
            .WithExamples("loom shape conv1d --input 5x7 --kernel 3 --stride 2", "loom shape conv1d --input 5x7 --kernel 3 --padding 1,0 --explain"));
        shape.Subcommands.Add(Conv("conv2d", Axes2d, "A 2-D convolution (PyTorch's Conv2d) over an input CxHxW.")
            .WithExamples(
                "loom shape conv2d --input 1x21x12 --kernel 4x5 --stride 4 --explain",
                "loom shape conv2d --input 1x21x12 --kernel 4x5 --stride 4 --padding 0,1,2,0 --json",
                "loom shape conv2d --input 3x32x32 --kernel 4 --padding same --filters 4"));
        shape.Subcommands.Add(ConvTranspose2d()
            .WithExamples("loom shape convtranspose2d --input 16x7x7 --kernel 3 --stride 2 --padding 1 --output-padding 1 --filters 8 --explain"));
        shape.Subcommands.Add(Pool("maxpool2d", withDilation: true, "A 2-D max-pool (PyTorch's MaxPool2d) over an input CxHxW.")
            .WithExamples("loom shape maxpool2d --input 16x28x28 --kernel 3 --stride 2 --padding 1 --ceil-mode --explain"));
        shape.Subcommands.Add(Pool("avgpool2d", withDilation: false, "A 2-D average pool (PyTorch's AvgPool2d) over an input CxHxW.")
            .WithExamples("loom shape avgpool2d --input 16x28x28 --kernel 2"));
        return shape.WithExamples("loom shape conv2d --input 1x21x12 --kernel 4x5 --stride 4 --explain");
    }

    private static Command Conv(string op, AxisName[] axes, string what)
    {
        var o = new LayerOptions(axes, kernelRequired: true, strideDefault: "1");
        var dilation = DilationOption(axes);
        var filters = new Option<int>("--filters", "-f") { Description = "Number of filters F (output channels).", DefaultValueFactory = _ => 1 };
        var groups = new Option<int>("--groups", "-g") { Description = "Groups G: input channels and filters must both divide by G.", DefaultValueFactory = _ => 1 };
        var command = NewCommand(op, what, o, dilation, filters, groups);
        command.SetAction(parse =>
        {
            var n = axes.Length;
            var input = o.ParseInput(parse);
            var kernel = o.ParseKernel(parse)!;
            var stride = o.ParseStride(parse, kernel);
            var dil = SizeParser.ParsePerAxis(parse.GetValue(dilation), "--dilation", Forms("D", axes), n);
            var spec = PaddingSpec.Parse(parse.GetValue(o.Padding) ?? "0", n, "--padding");
            var f = SizeParser.Check(parse.GetValue(filters), "--filters");
            var g = SizeParser.Check(parse.GetValue(groups), "--groups");
            CheckGroups(op, input[0], f, g);
            var pads = spec.Resolve(kernel, dil, stride, op, [.. axes.Select(a => a.Name)]);
            var derivations = new AxisDerivation[n];
            for (var a = 0; a < n; a++)
            {
                derivations[a] = ConvGeometry.ExplainOutputSize(input[a + 1], kernel[a], stride[a], pads[a].Low, pads[a].High, dil[a],
                    ceilMode: false, op, axes[a].Name, axes[a].Symbol);
            }
            var weight = new[] { f, input[0] / g }.Concat(kernel).ToArray();
            var report = new ShapeReport(op, axes, input, kernel, stride, dil, spec, pads, derivations, f)
            {
                Groups = g,
                Weight = weight,
            };
            return report.Write(parse, o);
        });
        return command;
    }

    private static Command ConvTranspose2d()
    {
        const string op = "convtranspose2d";
        var axes = Axes2d;
        var o = new LayerOptions(axes, kernelRequired: true, strideDefault: "1", allowSame: false);
        var dilation = DilationOption(axes);
        var outputPadding = new Option<string>("--output-padding")
        {
            Description = "Extra size added after the input on each axis (OP or OPHxOPW); must be smaller than the stride or the dilation.",
            HelpName = "OP|OPHxOPW",
            DefaultValueFactory = _ => "0",
        };
        var filters = new Option<int>("--filters", "-f") { Description = "Number of filters F (output channels).", DefaultValueFactory = _ => 1 };
        var groups = new Option<int>("--groups", "-g") { Description = "Groups G: input channels and filters must both divide by G.", DefaultValueFactory = _ => 1 };
        var command = NewCommand(op, "A 2-D transposed convolution (PyTorch's ConvTranspose2d) over an input CxHxW: "
            + "H' = (H−1)·s − p_lo − p_hi + d·(k−1) + output_padding + 1.",
            o, dilation, outputPadding, filters, groups);
        command.SetAction(parse =>
        {
            var input = o.ParseInput(parse);
            var kernel = o.ParseKernel(parse)!;
            var stride = o.ParseStride(parse, kernel);
            var dil = SizeParser.ParsePerAxis(parse.GetValue(dilation), "--dilation", Forms("D", axes), 2);
            var outPad = SizeParser.ParsePerAxis(parse.GetValue(outputPadding), "--output-padding", Forms("OP", axes), 2, min: 0);
            var spec = PaddingSpec.Parse(parse.GetValue(o.Padding) ?? "0", 2, "--padding");
            if (spec.Mode == PaddingMode.Same)
                throw new LoomException($"{op}: --padding same is not defined for a transposed convolution (as in PyTorch); give P, PHxPW or T,B,L,R");
            var f = SizeParser.Check(parse.GetValue(filters), "--filters");
            var g = SizeParser.Check(parse.GetValue(groups), "--groups");
            CheckGroups(op, input[0], f, g);
            var pads = spec.Resolve(kernel, dil, stride, op, [.. axes.Select(a => a.Name)]);
            var derivations = new AxisDerivation[2];
            for (var a = 0; a < 2; a++)
            {
                derivations[a] = ConvGeometry.ExplainTransposedOutputSize(input[a + 1], kernel[a], stride[a], pads[a].Low, pads[a].High, dil[a],
                    outPad[a], op, axes[a].Name, axes[a].Symbol);
            }
            // PyTorch's ConvTranspose2d weight is [in, out/groups, kH, kW].
            var weight = new[] { input[0], f / g }.Concat(kernel).ToArray();
            var report = new ShapeReport(op, axes, input, kernel, stride, dil, spec, pads, derivations, f)
            {
                Groups = g,
                Weight = weight,
                OutputPadding = outPad,
            };
            return report.Write(parse, o);
        });
        return command;
    }

    private static Command Pool(string op, bool withDilation, string what)
    {
        var axes = Axes2d;
        var o = new LayerOptions(axes, kernelRequired: true, strideDefault: null, allowSame: false);
        var dilation = withDilation ? DilationOption(axes) : null;
        var ceilMode = new Option<bool>("--ceil-mode")
        {
            Description = "Round the division up (PyTorch's ceil_mode); the last window must still start inside the input or the left padding.",
        };
        var command = withDilation ? NewCommand(op, what, o, dilation!, ceilMode) : NewCommand(op, what, o, ceilMode);
        command.SetAction(parse =>
        {
            var input = o.ParseInput(parse);
            var kernel = o.ParseKernel(parse)!;
            var stride = o.ParseStride(parse, kernel);
            var dil = dilation is null ? [1, 1] : SizeParser.ParsePerAxis(parse.GetValue(dilation), "--dilation", Forms("D", axes), 2);
            var spec = PaddingSpec.Parse(parse.GetValue(o.Padding) ?? "0", 2, "--padding");
            if (spec.Mode == PaddingMode.Same)
                throw new LoomException($"{op}: --padding same is not defined for pooling (as in PyTorch); give P, PHxPW or T,B,L,R (each at most half the kernel)");
            var ceil = parse.GetValue(ceilMode);
            var pads = spec.Resolve(kernel, dil, stride, op, [.. axes.Select(a => a.Name)]);
            var derivations = new AxisDerivation[2];
            for (var a = 0; a < 2; a++)
            {
                derivations[a] = ConvGeometry.ExplainPoolOutputSize(input[a + 1], kernel[a], stride[a], pads[a].Low, pads[a].High, dil[a],
                    ceil, op, axes[a].Name, axes[a].Symbol);
            }
            var report = new ShapeReport(op, axes, input, kernel, stride, dil, spec, pads, derivations, Filters: null)
            {
                CeilMode = ceil,
                ShowDilation = withDilation,
            };
            return report.Write(parse, o);
        });
        return command;
    }

    private static Command NewCommand(string op, string what, LayerOptions o, params Option[] extra)
    {
        var command = new Command(op, what);
        command.Options.Add(o.Input);
        command.Options.Add(o.Kernel);
        command.Options.Add(o.Stride);
        command.Options.Add(o.Padding);
        foreach (var option in extra) command.Options.Add(option);
        command.Options.Add(o.Explain);
        command.Options.Add(o.Json);
        return command;
    }

    private static Option<string> DilationOption(AxisName[] axes) => new("--dilation", "-d")
    {
        Description = "Dilation: the gap between kernel taps (1 = none).",
        HelpName = Forms("D", axes).Replace(" or ", "|", StringComparison.Ordinal),
        DefaultValueFactory = _ => "1",
    };

    private static void CheckGroups(string op, int channels, int filters, int groups)
    {
        if (channels % groups != 0)
            throw new LoomException($"{op}: input channels {channels} must be divisible by --groups {groups} (remainder {channels % groups})");
        if (filters % groups != 0)
            throw new LoomException($"{op}: --filters {filters} must be divisible by --groups {groups} (remainder {filters % groups})");
    }

    /// <summary><c>K or KHxKW</c> for 2-D, <c>K</c> for 1-D.</summary>
    internal static string Forms(string letter, AxisName[] axes)
        => axes.Length == 1 ? letter : $"{letter} or {string.Join("x", axes.Select(a => letter + a.Symbol))}";
}

/// <summary>A spatial axis: its name in errors, its letter in formulas, and the names of its low and high sides.</summary>
internal sealed record AxisName(string Name, string Symbol, string LowSide, string HighSide);

/// <summary>The options every <c>loom shape</c> sub-command shares, and their parsing.</summary>
internal sealed class LayerOptions
{
    private readonly AxisName[] _axes;
    private readonly string? _strideDefault;

    public LayerOptions(AxisName[] axes, bool kernelRequired, string? strideDefault, bool allowSame = true)
    {
        _axes = axes;
        _strideDefault = strideDefault;
        InputLayout = "C" + string.Concat(axes.Select(a => "x" + a.Symbol));
        Input = new Option<string>("--input", "-i") { Description = $"Input size {InputLayout} (channels first, no batch axis).", HelpName = InputLayout, Required = true };
        Kernel = new Option<string>("--kernel", "-k")
        {
            Description = "Kernel size.",
            HelpName = ShapeCommand.Forms("K", axes).Replace(" or ", "|", StringComparison.Ordinal),
            Required = kernelRequired,
        };
        Stride = new Option<string>("--stride", "-s")
        {
            Description = strideDefault is null ? "Stride [default: the kernel size, as in PyTorch]." : "Stride.",
            HelpName = ShapeCommand.Forms("S", axes).Replace(" or ", "|", StringComparison.Ordinal),
        };
        if (strideDefault is not null) Stride.DefaultValueFactory = _ => strideDefault;
        var forms = axes.Length == 1 ? "P on both sides, L,R per side" : "P on every side, PHxPW per axis, T,B,L,R per side (top,bottom,left,right)";
        Padding = new Option<string>("--padding", "-p")
        {
            Description = allowSame
                ? $"Padding: {forms}, 'same' (output as large as the input; stride 1) or 'valid' (none)."
                : $"Padding: {forms}{(strideDefault is null ? ", each at most half the kernel" : "")}, or 'valid' (none).",
            HelpName = (axes.Length == 1 ? "P|L,R" : "P|PHxPW|T,B,L,R") + (allowSame ? "|same|valid" : "|valid"),
            DefaultValueFactory = _ => "0",
        };
        Explain = new Option<bool>("--explain") { Description = "Print the derivation per axis: the formula, then the numbers substituted." };
        Json = new Option<bool>("--json") { Description = "Print one JSON object: output, the inputs echoed and the per-axis details." };
    }

    public string InputLayout { get; }

    public Option<string> Input { get; }

    public Option<string> Kernel { get; }

    public Option<string> Stride { get; }

    public Option<string> Padding { get; }

    public Option<bool> Explain { get; }

    public Option<bool> Json { get; }

    public int[] ParseInput(ParseResult parse) => SizeParser.Parse(parse.GetValue(Input), "--input", InputLayout, _axes.Length + 1);

    public int[]? ParseKernel(ParseResult parse)
    {
        var text = parse.GetValue(Kernel);
        return text is null ? null : SizeParser.ParsePerAxis(text, "--kernel", ShapeCommand.Forms("K", _axes), _axes.Length);
    }

    /// <summary>The stride; when it has no default (pooling) and is not given, the kernel size, as in PyTorch.</summary>
    public int[] ParseStride(ParseResult parse, int[] kernel)
    {
        var text = parse.GetValue(Stride) ?? _strideDefault;
        return text is null ? [.. kernel] : SizeParser.ParsePerAxis(text, "--stride", ShapeCommand.Forms("S", _axes), _axes.Length);
    }
}
