using Berth.Core;
using Berth.Engine.Containers;

namespace Berth.Engine.Tests;

public sealed class ContainerStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-store-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static ContainerRecord New() => new() { Id = ContainerStore.NewId(), Created = DateTime.UtcNow, Image = "sha256:abc" };

    [Fact]
    public void IdsAre64Hex() => Assert.Matches("^[0-9a-f]{64}$", ContainerStore.NewId());

    [Fact]
    public void LookupByIdNamePrefixAndSlashName()
    {
        var store = new ContainerStore(_root);
        var c = store.Add(New(), "web");
        Assert.Same(c, store.Get(c.Id));
        Assert.Same(c, store.Get("web"));
        Assert.Same(c, store.Get("/web"));
        Assert.Same(c, store.Get(c.Id[..12]));
        var e = Assert.Throws<BerthException>(() => store.Get("nope"));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Equal("No such container: nope", e.Message);
    }

    [Fact]
    public void GeneratedNamesAreUniqueAndValid()
    {
        var store = new ContainerStore(_root);
        var names = Enumerable.Range(0, 50).Select(_ => store.Add(New(), null).Name).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+_[a-z]+[0-9]?$", n));
    }

    [Fact]
    public void NameConflictAndInvalidNamesUseDockersMessages()
    {
        var store = new ContainerStore(_root);
        var c = store.Add(New(), "db");
        var conflict = Assert.Throws<BerthException>(() => store.Add(New(), "db"));
        Assert.Equal(ErrorKind.Conflict, conflict.Kind);
        Assert.StartsWith($"Conflict. The container name \"/db\" is already in use by container \"{c.Id}\"", conflict.Message);
        var invalid = Assert.Throws<BerthException>(() => store.Add(New(), "bad name!"));
        Assert.Equal("Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", invalid.Message);
        Assert.Single(store.List());
    }

    [Fact]
    public void RecordsSurviveARestartAndCorruptOnesAreSkipped()
    {
        var store = new ContainerStore(_root);
        var c = store.Add(New(), "keep");
        c.State.Status = "exited";
        c.State.ExitCode = 3;
        store.Save(c);
        var broken = store.Add(New(), "broken");
        File.WriteAllText(Path.Combine(store.DirectoryOf(broken.Id), "container.json"), "{not json");
        var reopened = new ContainerStore(_root);
        var again = reopened.Get("keep");
        Assert.Equal((c.Id, "exited", 3), (again.Id, again.State.Status, again.State.ExitCode));
        Assert.False(reopened.TryGet("broken", out _));
        Assert.True(reopened.IsImageInUse("sha256:abc"));
    }

    [Fact]
    public void AReservedButUnsavedRecord_IsACreateThatDied_AndIsNotLoaded()
    {
        var store = new ContainerStore(_root);
        var pending = store.Add(New(), "pending");
        Assert.True(Directory.Exists(store.DirectoryOf(pending.Id)));
        Assert.False(new ContainerStore(_root).TryGet("pending", out _));
        store.Save(pending);
        Assert.True(new ContainerStore(_root).TryGet("pending", out _));
    }

    [Fact]
    public void RemoveFreesTheNameAndDeletesTheDirectory()
    {
        var store = new ContainerStore(_root);
        var c = store.Add(New(), "tmp");
        store.Remove(c.Id);
        Assert.False(Directory.Exists(store.DirectoryOf(c.Id)));
        store.Add(New(), "tmp");
    }

    [Fact]
    public void AmbiguousPrefixIsAnError()
    {
        var store = new ContainerStore(_root);
        store.Add(new ContainerRecord { Id = "ab" + new string('1', 62) }, "one");
        store.Add(new ContainerRecord { Id = "ab" + new string('2', 62) }, "two");
        Assert.StartsWith("multiple IDs found", Assert.Throws<BerthException>(() => store.Get("ab")).Message);
    }
}
