namespace Loom;

/// <summary>
/// One step of the recurrent cells, composed from differentiable ops so autograd derives the backward (PyTorch's
/// <c>rnn_tanh_cell</c>, <c>lstm_cell</c>, <c>gru_cell</c>). The recurrent layers' reference path runs these step by
/// step; the fused path (<see cref="RecurrentFused"/>) must agree with them.
/// </summary>
public static partial class Functional
{
    /// <summary>
    /// Elman cell: h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh), act = tanh (or relu).
    /// Shape: x [N, in], h [N, H], W_ih [H, in], W_hh [H, H], biases [H] → [N, H].
    /// </summary>
    public static Tensor RnnCell(Tensor x, Tensor h, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null,
        bool relu = false)
    {
        var pre = Add(Linear(x, weightIh, biasIh), Linear(h, weightHh, biasHh));
        return relu ? Relu(pre) : Tanh(pre);
    }

    /// <summary>
    /// LSTM cell with PyTorch's gate order i, f, g, o in the rows of the weights:
    /// [i f g o] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh; c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g); h' = σ(o) ⊙ tanh(c').
    /// Shape: x [N, in], h and c [N, H], W_ih [4H, in], W_hh [4H, H], biases [4H] → (h' [N, H], c' [N, H]).
    /// </summary>
    public static (Tensor H, Tensor C) LstmCell(Tensor x, Tensor h, Tensor c, Tensor weightIh, Tensor weightHh,
        Tensor? biasIh = null, Tensor? biasHh = null)
    {
        var hidden = h.Shape[-1];
        var gates = Add(Linear(x, weightIh, biasIh), Linear(h, weightHh, biasHh));
        var i = Sigmoid(Narrow(gates, -1, 0, hidden));
        var f = Sigmoid(Narrow(gates, -1, hidden, hidden));
        var g = Tanh(Narrow(gates, -1, 2 * hidden, hidden));
        var o = Sigmoid(Narrow(gates, -1, 3 * hidden, hidden));
        var cNext = Add(Mul(f, c), Mul(i, g));
        return (Mul(o, Tanh(cNext)), cNext);
    }

    /// <summary>
    /// GRU cell with PyTorch's gate order r, z, n: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
    /// Shape: x [N, in], h [N, H], W_ih [3H, in], W_hh [3H, H], biases [3H] → [N, H].
    /// </summary>
    public static Tensor GruCell(Tensor x, Tensor h, Tensor weightIh, Tensor weightHh, Tensor? biasIh = null, Tensor? biasHh = null)
    {
        var hidden = h.Shape[-1];
        var gx = Linear(x, weightIh, biasIh);
        var gh = Linear(h, weightHh, biasHh);
        var r = Sigmoid(Add(Narrow(gx, -1, 0, hidden), Narrow(gh, -1, 0, hidden)));
        var z = Sigmoid(Add(Narrow(gx, -1, hidden, hidden), Narrow(gh, -1, hidden, hidden)));
        var n = Tanh(Add(Narrow(gx, -1, 2 * hidden, hidden), Mul(r, Narrow(gh, -1, 2 * hidden, hidden))));
        return Add(n, Mul(z, Sub(h, n)));
    }
}
