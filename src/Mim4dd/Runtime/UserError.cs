namespace Mim4dd.Runtime;

/// <summary>
/// Bad input from the user: a file, option or name that cannot be used. The CLI prints the message as
/// one line and exits with code 2. The message says where, what is wrong and what to do.
/// </summary>
public sealed class UserError(string message) : Exception(message)
{
    /// <summary>Builds the message as "where: what is wrong; what to do".</summary>
    public static UserError At(string where, string problem, string fix) => new($"{where}: {problem}; {fix}");
}
