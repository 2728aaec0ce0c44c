using Berth.Images;
using Berth.Images.Archive;

namespace Berth.Engine.Images;

/// <summary>docker save / docker load over the image store, with Docker's "save" and "load" image events.</summary>
public sealed partial class ImageBackend
{
    public Action<Stream> Save(IReadOnlyList<string> names)
    {
        var writer = new DockerArchiveWriter(Store);
        var items = writer.Plan(names); // unknown names fail here, before the response starts
        var write = writer.Prepare(items); // and layers that cannot be exported
        return output =>
        {
            write(output);
            foreach (var item in items) Publish(item.Id.ToString(), "save", item.References.FirstOrDefault()?.FamiliarString ?? item.Id.ToString());
        };
    }

    public void Load(Stream archive, ILoadProgress progress)
    {
        foreach (var id in new ImageArchiveLoader(Store).Load(archive, progress))
        {
            var name = Store.ReferencesOf(id).FirstOrDefault()?.FamiliarString ?? id.ToString();
            Publish(id.ToString(), "load", name);
        }
    }

    public List<Berth.Api.Images.HistoryResponseItem> History(string nameOrId) => Store.History(nameOrId);
}
