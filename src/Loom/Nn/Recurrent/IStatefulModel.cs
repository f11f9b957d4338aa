namespace Loom.Nn;

/// <summary>
/// A model that carries state from one forward call to the next (truncated backpropagation through time). The
/// <see cref="Training.Trainer"/> calls <see cref="ResetState"/> at the start of every epoch and before every evaluation.
/// </summary>
public interface IStatefulModel
{
    /// <summary>Forgets the carried state: the next call starts from zeros.</summary>
    void ResetState();
}
