namespace Mim4dd.Runtime;

/// <summary>A run that cannot go on (e.g. the loss diverged): the CLI prints the message as one line and exits 1.</summary>
public sealed class RunFailedException(string message) : Exception(message);
