namespace Loom.Diagnostics;

/// <summary>
/// Every threshold of <see cref="LossCurveDoctor"/>, named and explained (docs/doctor.md lists the same table). "Scale"
/// below is the reference loss: ln C when the number of classes C is known, else the median of the first steps' losses.
/// Windows are in training steps (rows of the <c>train</c> split); W = the rolling window.
/// </summary>
public static class DoctorThresholds
{
    /// <summary>W = this fraction of the steps (odd, clamped to [<see cref="MinWindow"/>, <see cref="MaxWindow"/>]):
    /// long enough for a median to ignore a spike of a few steps, short enough to follow the trend.</summary>
    public const double WindowFraction = 0.04;

    /// <summary>Smallest rolling window (steps).</summary>
    public const int MinWindow = 5;

    /// <summary>Largest rolling window (steps).</summary>
    public const int MaxWindow = 101;

    /// <summary>Fewest training steps the curve checks need; a shorter history only gets the NaN and initial-loss checks.</summary>
    public const int MinSteps = 10;

    /// <summary>The head and the tail of the curve are this fraction of the steps (at least W steps).</summary>
    public const double EdgeFraction = 0.1;

    /// <summary>1.4826 × MAD estimates a normal distribution's standard deviation.</summary>
    public const double MadToSigma = 1.4826;

    // ---- diverged ----

    /// <summary>diverged (finite): the tail median is at least this multiple of the head median (the loss ends far above where it started)…</summary>
    public const double DivergedGrowth = 3.0;

    /// <summary>…and at least this multiple of the lowest rolling median (it had been lower and did not come back).</summary>
    public const double DivergedOverBest = 3.0;

    // ---- loss-spikes ----

    /// <summary>A spike step is above the rolling median by more than this many robust sigmas (1.4826 × rolling MAD)…</summary>
    public const double SpikeSigmas = 6.0;

    /// <summary>…and by more than this fraction of the scale, so batch noise on a small loss never counts.</summary>
    public const double SpikeMinHeight = 0.3;

    /// <summary>Spike steps closer than this are one spike.</summary>
    public const int SpikeMergeGap = 3;

    /// <summary>A spike has recovered when, later, the loss and its trend come back within this fraction of the scale of the trend before it (or halfway down from the peak).</summary>
    public const double SpikeRecovery = 0.25;

    /// <summary>Fewest recovered spikes for a finding (one outlier batch is not a pattern), unless a spike rises above the
    /// initial loss: a trained model scoring worse than its uniform start is never batch noise.</summary>
    public const int MinSpikes = 2;

    /// <summary>The gradient that causes a spike was taken up to this many steps before its peak (the update lands, the next batches pay).</summary>
    public const int SpikeGradLookBack = 3;

    /// <summary>A spike is tied to exploding gradients when the grad norm at it is at least this multiple of the rolling median grad norm.</summary>
    public const double SpikeGradRatio = 3.0;

    // ---- exploding / vanishing gradients ----

    /// <summary>exploding-gradients: a grad norm at least this multiple of its rolling median…</summary>
    public const double ExplodingRatio = 10.0;

    /// <summary>…at this many separate steps at least (or any non-finite grad norm).</summary>
    public const int MinExplodingEvents = 2;

    /// <summary>vanishing-gradients: the tail median grad norm is below this fraction of the head median…</summary>
    public const double VanishingRatio = 1e-3;

    /// <summary>…or below this absolute value…</summary>
    public const double VanishingAbsolute = 1e-7;

    /// <summary>…while the tail loss is still above this fraction of the scale (a converged model may have tiny gradients).</summary>
    public const double VanishingUnconvergedLoss = 0.5;

    // ---- plateau-at-chance ----

    /// <summary>At chance: the rolling median loss is within this fraction of ln C…</summary>
    public const double ChanceLossTolerance = 0.08;

    /// <summary>…and the rolling mean accuracy within this distance of 1/C (when accuracy was logged)…</summary>
    public const double ChanceAccuracyTolerance = 0.08;

    /// <summary>…for a stretch of at least this fraction of the steps, or of <see cref="PlateauMinSteps"/> (and at least 2 W steps).</summary>
    public const double PlateauMinFraction = 0.25;

    /// <summary>
    /// A stretch this long at chance is a plateau whatever the run's length: a long run that learns, collapses and then
    /// sits at ln C for hundreds of steps (the course's spiky temporal-order run) has a plateau shorter than a quarter of it.
    /// </summary>
    public const int PlateauMinSteps = 250;

    // ---- initial-loss-off ----

    /// <summary>initial-loss-off: the first steps' median loss is above this multiple of ln C…</summary>
    public const double InitialHigh = 1.5;

    /// <summary>…or below this multiple of ln C (a fresh model cannot beat chance: labels or loss are wrong).</summary>
    public const double InitialLow = 0.5;

    /// <summary>The first loss is the median of this many first steps (1: the loss of the fresh model, before any update; more steps would let a fast explosion in).</summary>
    public const int InitialSteps = 1;

    // ---- overfitting ----

    /// <summary>overfitting: at least this many validation evaluations.</summary>
    public const int OverfitMinEpochs = 3;

    /// <summary>The last validation loss is above the best one by this fraction of the best…</summary>
    public const double OverfitRise = 0.05;

    /// <summary>…at least this many evaluations after the best one, while the training loss at the end is below the one at the best epoch.</summary>
    public const int OverfitEpochsAfterBest = 2;

    // ---- oscillating ----

    /// <summary>oscillating: in the second half, the robust spread of the loss (1.4826 × MAD) is at least this fraction of the scale…</summary>
    public const double OscillationSpread = 0.15;

    /// <summary>…while the second half's last quarter has not dropped below its first quarter by this fraction of that
    /// spread (the bounces are larger than the progress).</summary>
    public const double OscillationMaxProgress = 0.5;

    // ---- slow-convergence ----

    /// <summary>slow-convergence: the validation losses (at least <see cref="SlowMinEvaluations"/>) decrease at every
    /// evaluation — or, without them, the medians of this many segments of the training curve do…</summary>
    public const int SlowSegments = 5;

    /// <summary>Fewest validation evaluations to judge the trend on them (per-batch losses are noisier than a slow trend).</summary>
    public const int SlowMinEvaluations = 3;

    /// <summary>…but the whole run lowered the loss by less than this fraction of its first value…</summary>
    public const double SlowMaxDrop = 0.05;

    /// <summary>…and by at least this fraction (below it the loss is flat, not slow).</summary>
    public const double SlowMinDrop = 0.001;

    // ---- the live doctor (Trainer, once per epoch) ----

    /// <summary>
    /// The live doctor diagnoses the whole history again once the training curve has grown by this fraction since its
    /// last diagnosis (every epoch while that is less than an epoch): diagnoses spaced geometrically cost at most
    /// 1 + 1/0.125 = 9 diagnoses of the final history over the whole run (by schedule), a constant per step however
    /// long the run.
    /// </summary>
    public const double LiveGrowth = 0.125;

    /// <summary>…and sooner when an epoch's median training loss is at least this multiple of the one at the last
    /// diagnosis, and every epoch for one <see cref="LiveGrowth"/> interval after it rose to this multiple of the lowest
    /// level diagnosed (a finite divergence is stopped at the epoch it shows, not up to <see cref="LiveGrowth"/> of the
    /// run later).</summary>
    public const double LiveLevelRise = 2.0;
}
