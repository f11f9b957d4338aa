namespace Loom.Nn.Spec;

/// <summary>Named model specs for <c>loom train --model</c>; <c>{C}</c> stands for the number of classes.</summary>
public static class Presets
{
    public static readonly IReadOnlyDictionary<string, string> All = new Dictionary<string, string>
    {
        ["smallcnn"] = "conv(32,3,p=1) relu maxpool(2) conv(64,3,p=1) relu maxpool(2) flatten linear(128) relu linear({C})",
        ["resnet-small"] = "conv(32,3,p=1) bn relu basic(32) basic(64,s=2) basic(128,s=2) gap flatten linear({C})",
        ["mlp"] = "flatten linear(256) relu linear(128) relu linear({C})",
        ["lenet5"] = "conv(6,5,p=2) tanh avgpool(2) conv(16,5) tanh avgpool(2) flatten linear(120) tanh linear(84) tanh linear({C})",
    };

    /// <summary>The spec for a preset name, or the text itself when it is not a preset; {C} is replaced by the class count.</summary>
    public static string Resolve(string nameOrSpec, int numClasses)
    {
        var spec = All.TryGetValue(nameOrSpec.Trim().ToLowerInvariant(), out var preset) ? preset : nameOrSpec;
        return spec.Replace("{C}", numClasses.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }
}
