using System.Runtime.CompilerServices;

// Tests drive the augmentation operations with fixed parameters instead of through a generator.
[assembly: InternalsVisibleTo("Mim4dd.Tests")]
