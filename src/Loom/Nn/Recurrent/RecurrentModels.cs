namespace Loom.Nn;

/// <summary>
/// The recurrent models by name, as the command line's <c>--model</c> names them: <c>rnn</c> (tanh), <c>rnn-relu</c>,
/// <c>lstm</c>, <c>gru</c>, <c>gated-rnn</c>, <c>attention-rnn</c>. All are built batch-first.
/// </summary>
/// <example><code>
/// var lstm = RecurrentModels.Create("lstm", inputSize: 8, hiddenSize: 12);
/// var att = RecurrentModels.Create("attention-rnn", 8, 16, k: AttentionRnn.Infinite);
/// </code></example>
public static class RecurrentModels
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["rnn", "rnn-relu", "lstm", "gru", "gated-rnn", "attention-rnn"];

    /// <summary>
    /// A batch-first recurrent layer. <paramref name="layers"/> and <paramref name="dropout"/> apply to rnn, lstm and
    /// gru; <paramref name="k"/> to attention-rnn. Unknown names, hidden ≤ 0, layers &lt; 1 and k &lt; 1 are errors naming the value.
    /// </summary>
    public static Module Create(string name, int inputSize, int hiddenSize, int layers = 1, int k = 2, double dropout = 0,
        Generator? generator = null)
    {
        var options = new RecurrentOptions(inputSize, hiddenSize) { NumLayers = layers, BatchFirst = true, Dropout = dropout };
        if (layers != 1 && name is "gated-rnn" or "attention-rnn")
            throw new LoomException($"{name}: has one layer; --layers {layers} applies to rnn, rnn-relu, lstm and gru");
        return name switch
        {
            "rnn" => new Rnn(options, RnnNonlinearity.Tanh, generator),
            "rnn-relu" => new Rnn(options, RnnNonlinearity.Relu, generator),
            "lstm" => new Lstm(options, generator),
            "gru" => new Gru(options, generator),
            "gated-rnn" => new GatedRnn(inputSize, hiddenSize, batchFirst: true, generator),
            "attention-rnn" => new AttentionRnn(inputSize, hiddenSize, k, batchFirst: true, generator),
            _ => throw new LoomException($"model: unknown recurrent model '{name}'; known: {string.Join(", ", Names)}"),
        };
    }
}
