namespace Mim4dd.Data;
// Placeholder until the readers branch lands.
public static class Npz { public static (Dataset, Dataset) LoadSplit(string p) => throw new NotImplementedException(); }
public static class CifarPickle { public static (Dataset, Dataset) Load(string p) => throw new NotImplementedException(); }
public static class Cifar10Png { public static (Dataset, Dataset) Load(string p) => throw new NotImplementedException(); }
public static class ImageFolder { public static (Dataset, Dataset) LoadSplit(string p) => throw new NotImplementedException(); }
