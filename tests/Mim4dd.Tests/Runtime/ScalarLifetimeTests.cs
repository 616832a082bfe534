using System.Reflection;
using System.Reflection.Emit;
using Mim4dd.Runtime;
using TorchSharp;

namespace Mim4dd.Tests.Runtime;

/// <summary>
/// TorchSharp 0.107 hands a temporary <see cref="Scalar"/> (the 1 in <c>a + b</c>, the 0.5 in <c>x.mul(0.5)</c>, the one
/// <c>ToDouble()</c> reads through) to LibTorch by handle, with nothing keeping the managed object alive during the
/// native call: a GC started by another thread can let the finalizer free it while LibTorch reads it. This test reads
/// the IL of our assemblies and of TorchSharp: outside <see cref="Scalars"/>, no method of ours may create a Scalar, or
/// call a TorchSharp member that creates one (directly or through its callees).
/// </summary>
public class ScalarLifetimeTests
{
    private static readonly OpCode[] OneByte = new OpCode[0x100], TwoByte = new OpCode[0x100];
    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance
        | BindingFlags.DeclaredOnly;

    static ScalarLifetimeTests()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)field.GetValue(null)!;
            ushort value = (ushort)op.Value;
            if (value < 0x100) OneByte[value] = op;
            else TwoByte[value & 0xff] = op;
        }
    }

    [Fact]
    public void NoMethodOfOurs_PassesATemporaryScalarToLibTorch()
    {
        var torchSharp = CallGraph(typeof(Scalar).Assembly);
        var creators = new HashSet<MethodBase>(torchSharp.Where(kv => kv.Value.Any(CreatesScalar)).Select(kv => kv.Key));
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var (method, callees) in torchSharp)
                if (!creators.Contains(method) && callees.Any(creators.Contains)) grew = creators.Add(method);
        }
        Assert.True(creators.Count > 100,
            $"the IL scan found only {creators.Count} TorchSharp members that create a Scalar: is the scan broken?");

        var offences = new List<string>();
        foreach (var assembly in new[] { typeof(Scalars).Assembly, typeof(Mim4dd.Cli.Cli).Assembly })
            foreach (var (method, callees) in CallGraph(assembly))
            {
                // Scalars makes its own (kept-alive) Scalars, but must not call anything that makes another.
                bool keeper = IsInside(method.DeclaringType, typeof(Scalars));
                foreach (var callee in callees.Distinct().Where(c => CreatesScalar(c) ? !keeper : creators.Contains(c)))
                    offences.Add($"{Name(method)} calls {Name(callee)}");
            }
        Assert.True(offences.Count == 0,
            $"{offences.Count} calls create a temporary Scalar (use Mim4dd.Runtime.Scalars):\n" + string.Join("\n", offences.Order()));
    }

    [Fact]
    public void TheScanFindsTheKnownOffenders()
    {
        // The pattern of the CI failure ("toFloat" in an average pool's a + b) and the usual suspects must be caught.
        var graph = CallGraph(typeof(ScalarLifetimeTests).Assembly);
        var sample = graph.Single(kv => kv.Key.Name == nameof(Offender)).Value;
        Assert.Contains(sample, c => c.Name == "op_Addition");
        Assert.Contains(sample, c => c.Name == "op_Implicit" && c.DeclaringType == typeof(Scalar));
        Assert.Contains(sample, c => c.Name == "ToDouble");
    }

    private static double Offender(torch.Tensor a, torch.Tensor b) => (a + b).mul(0.5).ToDouble();

    private static bool CreatesScalar(MethodBase callee) =>
        callee.DeclaringType == typeof(Scalar) && (callee.Name == "op_Implicit" || callee.IsConstructor)
        || callee is MethodInfo info && info.ReturnType == typeof(Scalar) && info.DeclaringType?.Assembly == typeof(Scalar).Assembly
            && !info.IsSpecialName;

    private static bool IsInside(Type? type, Type outer)
    {
        for (; type is not null; type = type.DeclaringType) if (type == outer) return true;
        return false;
    }

    private static string Name(MethodBase method) =>
        $"{method.DeclaringType?.FullName}.{method.Name}({string.Join(", ", method.GetParameters().Select(p => p.ParameterType.Name))})";

    /// <summary>Every method and constructor of the assembly with the methods its IL calls or constructs.</summary>
    private static Dictionary<MethodBase, List<MethodBase>> CallGraph(Assembly assembly)
    {
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        var graph = new Dictionary<MethodBase, List<MethodBase>>();
        foreach (var type in types)
            foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
            {
                byte[]? il;
                try { il = method.GetMethodBody()?.GetILAsByteArray(); }
                catch (Exception e) when (e is BadImageFormatException or InvalidOperationException) { continue; }
                if (il is null) continue;
                graph[method] = Callees(method, il);
            }
        return graph;
    }

    private static List<MethodBase> Callees(MethodBase method, byte[] il)
    {
        var callees = new List<MethodBase>();
        var typeArguments = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int position = 0; position < il.Length;)
        {
            var op = il[position] == 0xfe ? TwoByte[il[++position]] : OneByte[il[position]];
            position++;
            if (op.OperandType == OperandType.InlineMethod)
            {
                try
                {
                    var callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, position), typeArguments, methodArguments);
                    if (callee is not null) callees.Add(callee is MethodInfo { IsGenericMethod: true } generic
                        ? generic.GetGenericMethodDefinition() : callee);
                }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException) { }
            }
            position += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, position),
                _ => 4,
            };
        }
        return callees;
    }
}
