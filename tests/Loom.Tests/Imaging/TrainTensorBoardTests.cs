using System.Text.Json.Nodes;
using Loom.Diagnostics.TensorBoard;
using Loom.Training;

namespace Loom.Tests.Imaging;

/// <summary><c>loom train</c> leaves a TensorBoard log: the history's scalars and, at the last step, curves.png.</summary>
[Collection(TinyRunCollection.Name)]
public sealed class TrainTensorBoardTests(TinyRun tiny)
{
    [Fact]
    public void The_run_directory_holds_an_event_file_with_the_scalars_and_the_curves_image()
    {
        Assert.True(tiny.Train.ExitCode == 0, tiny.Train.ToString());
        var file = Assert.Single(EventFileReader.Find(tiny.RunDir));
        var content = EventFileReader.Read(file);
        Assert.Equal(0, content.TornTailBytes);
        var rows = History.Read(new RunDirectory(tiny.RunDir).History);
        var losses = content.Scalars().Where(s => s.Tag == "train/loss").ToList();
        Assert.Equal(rows.Where(r => r.Split == "train").Select(r => (r.Step, (float)r.Loss)), losses.Select(s => (s.Step, s.Value)));
        var val = Assert.Single(content.Scalars(), s => s.Tag == "val/accuracy");
        Assert.Equal((float)rows.Single(r => r.Split == "val").Accuracy, val.Value);

        var last = content.Events[^1];
        var image = Assert.Single(last.Summary.Value);
        Assert.Equal("curves", image.Tag);
        Assert.Equal(rows.Max(r => r.Step), last.Step);
        Assert.Equal((1200, 450), (image.Image.Width, image.Image.Height));
        Assert.Equal(File.ReadAllBytes(new RunDirectory(tiny.RunDir).Curves), image.Image.EncodedImageString.ToByteArray());
    }

    [Fact]
    public void An_independent_python_reader_sees_the_same_events()
    {
        // tools/read_tfevents.py decodes the framing, CRC-32C and protobuf wire format by hand (standard library only).
        Requirements.DebianPackage("python3", TorchPython.Python);
        Assert.True(tiny.Train.ExitCode == 0, tiny.Train.ToString());
        var file = Assert.Single(EventFileReader.Find(tiny.RunDir));
        var lines = TorchPython.RunOrFail(TorchPython.RepoPath("tools", "read_tfevents.py"), file)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(0, (int)lines[^1]["torn_tail_bytes"]!);
        var events = EventFileReader.Read(file).Events;
        Assert.Equal(events.Count, lines.Count - 1);
        Assert.Equal("brain.Event:2", (string)lines[0]["file_version"]!);
        for (var i = 0; i < events.Count; i++)
        {
            Assert.Equal(events[i].Step, (long)lines[i]["step"]!);
            Assert.Equal(events[i].WallTime, (double)lines[i]["wall_time"]!);
            if (i == 0) continue;
            var values = lines[i]["values"]!.AsArray();
            Assert.Equal(events[i].Summary.Value.Count, values.Count);
            for (var k = 0; k < values.Count; k++)
            {
                var v = events[i].Summary.Value[k];
                var py = values[k]!.AsObject();
                Assert.Equal(v.Tag, py["tag"]!.GetValue<string>());
                if (v.ValueCase == Loom.Diagnostics.TensorBoard.Proto.Summary.Types.Value.ValueOneofCase.SimpleValue)
                {
                    Assert.True(py.ContainsKey("simple_value"), py.ToJsonString());
                    Assert.Equal(v.SimpleValue, (float)py["simple_value"]!.GetValue<double>());
                    continue;
                }
                var img = Assert.IsType<JsonObject>(py["image"], exactMatch: false);
                Assert.Equal(v.Image.Width, img["width"]!.GetValue<int>());
                Assert.Equal(v.Image.Height, img["height"]!.GetValue<int>());
                Assert.Equal(v.Image.EncodedImageString.Length, img["png_bytes"]!.GetValue<int>());
                Assert.True(img["png_signature"]!.GetValue<bool>());
            }
        }
    }
}
