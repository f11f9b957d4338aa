namespace Loom.Nn;

/// <summary>
/// A model that carries state from one forward call to the next (truncated backpropagation through time). The
/// <see cref="Training.Trainer"/> calls <see cref="ResetState"/> at the start of every epoch and before every evaluation,
/// and saves <see cref="CarriedState"/> in its checkpoints, so a run resumed in the middle of an epoch continues from
/// the state the interrupted run had reached rather than from zeros.
/// </summary>
public interface IStatefulModel
{
    /// <summary>Forgets the carried state: the next call starts from zeros.</summary>
    void ResetState();

    /// <summary>The carried state by name (empty when there is none), to be saved in a checkpoint.</summary>
    IReadOnlyDictionary<string, Tensor> CarriedState();

    /// <summary>Restores a state from <see cref="CarriedState"/>; an empty dictionary means none (as after <see cref="ResetState"/>).</summary>
    void LoadCarriedState(IReadOnlyDictionary<string, Tensor> state);
}
