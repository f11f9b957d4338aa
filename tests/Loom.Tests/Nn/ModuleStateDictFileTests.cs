using Loom.Interop;
using Loom.Nn;
using Loom.Tests.Data;

namespace Loom.Tests.Nn;

/// <summary><c>Module.LoadStateDict(path, strict)</c>: a safetensors file into a model, with errors naming the file and the keys.</summary>
public class ModuleStateDictFileTests
{
    private static Sequential Model() => new(new Linear(4, 3), new BatchNorm1d(3), new ReLU(), new Linear(3, 2));

    [Fact]
    public void LoadsWhatSaveWroteIncludingBuffers()
    {
        using var dir = new TempDirectory();
        var path = dir.File("model.safetensors");
        var source = Model();
        source.StateDict()["1.running_mean"].CopyFrom(Tensor.FromArray([0.5f, -1f, 2f], 3));
        source.StateDict()["1.num_batches_tracked"].Fill_(17);
        Safetensors.Save(path, source.StateDict());

        var target = Model();
        target.LoadStateDict(path);
        foreach (var (key, value) in source.StateDict())
            Assert.Equal(value.ToDoubleArray(), target.StateDict()[key].ToDoubleArray());
        Assert.Equal(17, (int)target.StateDict()["1.num_batches_tracked"].Item());
    }

    [Fact]
    public void StrictLoadNamesTheFileAndEveryMissingUnexpectedAndMisShapedKey()
    {
        using var dir = new TempDirectory();
        var path = dir.File("other.safetensors");
        var state = Model().StateDict();
        state.Remove("3.bias");
        state.Remove("1.running_var");
        state["3.weight"] = Tensor.Zeros(2, 5);
        state["head.weight"] = Tensor.Zeros(1);
        Safetensors.Save(path, state);

        var model = Model();
        var before = model.StateDict()["0.weight"].ToArray();
        var message = Assert.Throws<LoomException>(() => model.LoadStateDict(path, strict: true)).Message;
        Assert.StartsWith($"{path}: load_state_dict: ", message, StringComparison.Ordinal);
        Assert.Contains("missing keys: 1.running_var, 3.bias", message, StringComparison.Ordinal);
        Assert.Contains("unexpected keys: head.weight", message, StringComparison.Ordinal);
        Assert.Contains("3.weight: checkpoint has shape [2, 5], model has [2, 3]", message, StringComparison.Ordinal);
        // Nothing was copied: a failed load leaves the model as it was.
        Assert.Equal(before, model.StateDict()["0.weight"].ToArray());

        // Not strict: missing and unexpected keys are allowed, a wrong shape still is not.
        var shapeOnly = Assert.Throws<LoomException>(() => model.LoadStateDict(path, strict: false)).Message;
        Assert.DoesNotContain("missing", shapeOnly, StringComparison.Ordinal);
        Assert.Contains("3.weight: checkpoint has shape [2, 5], model has [2, 3]", shapeOnly, StringComparison.Ordinal);
        state.Remove("3.weight");
        Safetensors.Save(path, state);
        model.LoadStateDict(path, strict: false);
        Assert.Equal(state["0.weight"].ToArray(), model.StateDict()["0.weight"].ToArray());
    }

    /// <summary>What PyTorch writes: int64 num_batches_tracked, and float16/bfloat16 weights when the model was halved.</summary>
    [Fact]
    public void ConvertsPyTorchDTypesOnLoad()
    {
        using var dir = new TempDirectory();
        var path = dir.File("torch.safetensors");
        var bn = new BatchNorm1d(2);
        // Hand-written in PyTorch's dtypes: weight F16 [1, -2], bias BF16 [0.5, 3], running stats F32, count I64 = 9.
        var header = "{\"weight\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}," +
                     "\"bias\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]}," +
                     "\"running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}," +
                     "\"running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}," +
                     "\"num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]}}";
        var data = new byte[32];
        var w = data.AsSpan();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(w, 0x3C00);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(w[2..], 0xC000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(w[4..], 0x3F00);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(w[6..], 0x4040);
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(w[8..], 0.25f);
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(w[12..], -0.5f);
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(w[16..], 2f);
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(w[20..], 4f);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(w[24..], 9);
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + headerBytes.Length + data.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerBytes.Length);
        headerBytes.CopyTo(file, 8);
        data.CopyTo(file, 8 + headerBytes.Length);
        File.WriteAllBytes(path, file);

        bn.LoadStateDict(path);
        var state = bn.StateDict();
        Assert.Equal([1f, -2f], state["weight"].ToArray());
        Assert.Equal([0.5f, 3f], state["bias"].ToArray());
        Assert.Equal([0.25f, -0.5f], state["running_mean"].ToArray());
        Assert.Equal([2f, 4f], state["running_var"].ToArray());
        Assert.Equal(9, (int)state["num_batches_tracked"].Item());
    }
}
