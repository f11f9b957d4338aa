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
}
