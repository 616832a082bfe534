using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Mim4dd.Tests")]
