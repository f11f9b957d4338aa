namespace Loom;

/// <summary>
/// The one exception type Loom throws for bad input: the message names the op or input, what was expected
/// and what was found, so the command line can print it as one line.
/// </summary>
public class LoomException : Exception
{
    public LoomException() { }

    public LoomException(string message) : base(message) { }

    public LoomException(string message, Exception inner) : base(message, inner) { }
}
