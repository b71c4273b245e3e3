using System.Reflection;
using System.Reflection.Emit;

namespace Baton.Tests.Architecture;

/// <summary>
/// The library's folders are floors (docs/architecture.md): a type may use types of its own folder and of
/// lower floors, never of a higher one or of another folder on its own floor. Checked on the compiled
/// assembly: base types, interfaces, fields, signatures and every type, method and field a method body names.
/// </summary>
public sealed class FloorTests
{
    /// <summary>
    /// Namespace → (folder, floor), bottom first. The Interop folder is the global Interop class and its SafeHandles
    /// (dotnet/runtime's layout); every other folder is one namespace.
    /// </summary>
    private static readonly Dictionary<string, (string Folder, int Floor)> Floors = new(StringComparer.Ordinal)
    {
        [""] = ("Interop", 0),
        ["Microsoft.Win32.SafeHandles"] = ("Interop", 0),
        ["Baton.IO"] = ("IO", 1),
        ["Baton.Configuration"] = ("Configuration", 2),
        ["Baton.Diagnostics"] = ("Diagnostics", 2),
        ["Baton.Inspection"] = ("Inspection", 3),
        ["Baton.Channel"] = ("Channel", 3),
        ["Baton.Tls.Session"] = ("Tls/Session", 4),
        ["Baton.Tls"] = ("Tls", 5),
        ["Baton.Tls.Handoff"] = ("Tls/Handoff", 6),
        ["Baton.Tls.Records"] = ("Tls/Records", 6),
        ["Baton.Supervisor"] = ("Supervisor", 7),
        ["Baton.Worker"] = ("Worker", 7),
        ["Baton.Front"] = ("Front", 8),
        ["Baton.Relay"] = ("Relay", 8),
        ["Baton.Hosting"] = ("Hosting", 9),
        // The control socket: Hosting's own, in a folder of its own.
        ["Baton.Hosting.Control"] = ("Hosting", 9),
    };

    private static readonly Assembly Core = typeof(Baton.Hosting.FrontProgram).Assembly;

    [Fact]
    public void EveryTypeIsOnAKnownFloor()
    {
        string[] unplaced = CoreTypes().Where(t => !Floors.ContainsKey(NamespaceOf(t))).Select(t => t.FullName!).ToArray();
        Assert.True(unplaced.Length == 0, "types in a namespace the floor table does not know: " + string.Join(", ", unplaced));
    }

    [Fact]
    public void NoTypeUsesAHigherFloorOrASibling()
    {
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Type type in CoreTypes())
        {
            if (!Floors.TryGetValue(NamespaceOf(type), out (string Folder, int Floor) from)) continue;
            foreach (Type used in UsedTypes(type))
            {
                if (used.Assembly != Core || !Floors.TryGetValue(NamespaceOf(used), out (string Folder, int Floor) to)) continue;
                if (to.Folder != from.Folder && to.Floor >= from.Floor)
                    violations.Add($"{Describe(type)} ({from.Folder}, floor {from.Floor}) uses {Describe(used)} ({to.Folder}, floor {to.Floor})");
            }
        }
        Assert.True(violations.Count == 0, "floors pointing up or sideways:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void TheCheckSeesReferencesInsideMethodBodies()
    {
        // FrontProgram names FrontConfiguration only in a static call inside an async method's body (its
        // state machine's IL): if the IL scan were broken, the test above could pass while floors point up.
        Assert.Contains(UsedTypes(typeof(Baton.Hosting.FrontProgram)), t => t.Name == "FrontConfiguration");
    }

    private static IEnumerable<Type> CoreTypes() =>
        Core.GetTypes().Where(t => !t.Name.StartsWith('<') && t.Namespace?.StartsWith("System", StringComparison.Ordinal) != true
            && t.FullName?.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal) != true);

    /// <summary>The namespace of a type, of its outermost declaring type for nested ones; "" for the global namespace.</summary>
    private static string NamespaceOf(Type type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        if (type.IsGenericParameter) return "";
        return type.Namespace ?? "";
    }

    private static string Describe(Type type) => type.FullName ?? type.Name;

    private const BindingFlags All =
        BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every type <paramref name="type"/> and its compiler-made nested types (lambdas, async state machines) name.</summary>
    private static HashSet<Type> UsedTypes(Type type)
    {
        var used = new HashSet<Type>();
        foreach (Type t in SelfAndNested(type))
        {
            if (t.BaseType is not null) AddType(used, t.BaseType);
            foreach (Type i in t.GetInterfaces()) AddType(used, i);
            foreach (FieldInfo field in t.GetFields(All)) AddType(used, field.FieldType);
            foreach (PropertyInfo property in t.GetProperties(All)) AddType(used, property.PropertyType);
            foreach (MethodBase method in t.GetMethods(All).Cast<MethodBase>().Concat(t.GetConstructors(All)))
            {
                if (method is MethodInfo info) AddType(used, info.ReturnType);
                foreach (ParameterInfo parameter in method.GetParameters()) AddType(used, parameter.ParameterType);
                AddBodyReferences(used, method);
            }
        }
        return used;
    }

    private static IEnumerable<Type> SelfAndNested(Type type) =>
        new[] { type }.Concat(type.GetNestedTypes(All).Where(n => n.Name.StartsWith('<')).SelectMany(SelfAndNested));

    private static void AddType(HashSet<Type> used, Type type)
    {
        while (type.HasElementType) type = type.GetElementType()!;
        if (type.IsGenericParameter) return;
        if (!used.Add(type)) return;
        if (type.IsGenericType)
        {
            foreach (Type argument in type.GetGenericArguments()) AddType(used, argument);
        }
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>Walks the IL and resolves every token that names a type, a method or a field.</summary>
    private static void AddBodyReferences(HashSet<Type> used, MethodBase method)
    {
        byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null) return;
        Module module = method.Module;
        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int position = 0;
        while (position < il.Length)
        {
            short value = il[position++];
            if (value == 0xFE) value = (short)(0xFE00 | il[position++]);
            OpCode opCode = OpCodesByValue[value];
            int operandSize = OperandSize(opCode, il, position);
            if (opCode.OperandType is OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok)
            {
                int token = BitConverter.ToInt32(il, position);
                switch (module.ResolveMember(token, typeArguments, methodArguments))
                {
                    case Type t: AddType(used, t); break;
                    case MethodBase m: AddType(used, m.DeclaringType!); break;
                    case FieldInfo f: AddType(used, f.DeclaringType!); AddType(used, f.FieldType); break;
                }
            }
            position += operandSize;
        }
    }

    private static int OperandSize(OpCode opCode, byte[] il, int position) => opCode.OperandType switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, position),
        _ => 4,
    };
}
