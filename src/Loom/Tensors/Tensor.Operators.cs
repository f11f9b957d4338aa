namespace Loom;

// Operators and instance methods forward to Functional, where each op and its backward live.
public sealed partial class Tensor
{
    public static Tensor operator +(Tensor a, Tensor b) => Functional.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => Functional.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => Functional.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => Functional.Div(a, b);
    public static Tensor operator -(Tensor x) => Functional.Neg(x);
    public static Tensor operator +(Tensor x, double s) => Functional.Add(x, s);
    public static Tensor operator +(double s, Tensor x) => Functional.Add(x, s);
    public static Tensor operator -(Tensor x, double s) => Functional.Sub(x, s);
    public static Tensor operator -(double s, Tensor x) => Functional.RSub(s, x);
    public static Tensor operator *(Tensor x, double s) => Functional.Mul(x, s);
    public static Tensor operator *(double s, Tensor x) => Functional.Mul(x, s);
    public static Tensor operator /(Tensor x, double s) => Functional.Div(x, s);
    public static Tensor operator /(double s, Tensor x) => Functional.RDiv(s, x);

    public Tensor Add(Tensor other) => Functional.Add(this, other);
    public Tensor Sub(Tensor other) => Functional.Sub(this, other);
    public Tensor Mul(Tensor other) => Functional.Mul(this, other);
    public Tensor Div(Tensor other) => Functional.Div(this, other);
    public Tensor Neg() => Functional.Neg(this);
    public Tensor Exp() => Functional.Exp(this);
    public Tensor Log() => Functional.Log(this);
    public Tensor Sqrt() => Functional.Sqrt(this);
    public Tensor Abs() => Functional.Abs(this);
    public Tensor Pow(double exponent) => Functional.Pow(this, exponent);
    public Tensor Relu() => Functional.Relu(this);
    public Tensor Tanh() => Functional.Tanh(this);
    public Tensor Sigmoid() => Functional.Sigmoid(this);
    public Tensor Sum() => Functional.Sum(this);
    public Tensor Sum(int axis, bool keepDim = false) => Functional.Sum(this, axis, keepDim);
    public Tensor Sum(int[] axes, bool keepDim = false) => Functional.Sum(this, axes, keepDim);
    public Tensor Mean() => Functional.Mean(this);
    public Tensor Mean(int axis, bool keepDim = false) => Functional.Mean(this, axis, keepDim);
    public Tensor Max() => Functional.Max(this);
    public (Tensor Values, Tensor Indices) Max(int axis, bool keepDim = false) => Functional.Max(this, axis, keepDim);
    public Tensor ArgMax(int axis, bool keepDim = false) => Functional.ArgMax(this, axis, keepDim);
    public Tensor LogSumExp(int axis, bool keepDim = false) => Functional.LogSumExp(this, axis, keepDim);
    public Tensor Softmax(int axis = -1) => Functional.Softmax(this, axis);
    public Tensor LogSoftmax(int axis = -1) => Functional.LogSoftmax(this, axis);
    public Tensor MatMul(Tensor other) => Functional.MatMul(this, other);
    public Tensor Reshape(params int[] shape) => Functional.Reshape(this, shape);
    public Tensor View(params int[] shape) => Functional.Reshape(this, shape);
    public Tensor Flatten(int startAxis = 0, int endAxis = -1) => Functional.Flatten(this, startAxis, endAxis);
    public Tensor Unsqueeze(int axis) => Functional.Unsqueeze(this, axis);
    public Tensor Squeeze(int axis) => Functional.Squeeze(this, axis);
    public Tensor Transpose(int axis0, int axis1) => Functional.Transpose(this, axis0, axis1);
    public Tensor Permute(params int[] axes) => Functional.Permute(this, axes);
    public Tensor Narrow(int axis, int start, int length) => Functional.Narrow(this, axis, start, length);
    public Tensor Select(int axis, int index) => Functional.Select(this, axis, index);
    public Tensor Expand(params int[] shape) => Functional.Expand(this, new Shape(shape));
}
