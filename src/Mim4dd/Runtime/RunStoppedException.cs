namespace Mim4dd.Runtime;

/// <summary>A run stopped on request (Ctrl-C, SIGTERM) after saving its checkpoint: the CLI says how to resume and exits 130.</summary>
public sealed class RunStoppedException(string message) : Exception(message);
