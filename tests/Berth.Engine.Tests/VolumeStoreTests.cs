using Berth.Api;
using Berth.Core;
using Berth.Engine.Volumes;

namespace Berth.Engine.Tests;

/// <summary>The volume store on a temporary data root: names, create/get/remove, users, filters, prune, events, and
/// what a crash leaves behind.</summary>
public sealed class VolumeStoreTests : IDisposable
{
    private readonly string _dataRoot = Directory.CreateTempSubdirectory("berth-volumes-").FullName;

    /// <summary>A test's stores may still be deleting removed volumes' trash (after the answer, in the background):
    /// the directory goes once they are done.</summary>
    public void Dispose()
    {
        for (int i = 0; ; i++)
        {
            try
            {
                Directory.Delete(_dataRoot, recursive: true);
                return;
            }
            catch (Exception e) when (e is IOException && i < 50)
            {
                Thread.Sleep(100);
            }
        }
    }

    private string VolumesDir => Path.Combine(_dataRoot, "volumes");

    private static FilterArgs F(string json) => FilterArgs.Parse(json);

    [Fact]
    public void CreateMakesTheDataDirectoryAndMetadataAndInspectShowsDockersShape()
    {
        var store = new VolumeStore(_dataRoot);
        var v = store.Create("data", null, null, new Dictionary<string, string> { ["a"] = "1" });
        Assert.Equal("data", v.Name);
        Assert.Equal("local", v.Driver);
        Assert.Equal("local", v.Scope);
        Assert.Equal(Path.Combine(VolumesDir, "data", "_data"), v.Mountpoint);
        Assert.True(Directory.Exists(v.Mountpoint));
        Assert.True(File.Exists(Path.Combine(VolumesDir, "data", "volume.json")));
        Assert.Null(v.Options);
        Assert.Null(v.Status);
        Assert.Null(v.UsageData);
        Assert.Equal("1", v.Labels!["a"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$", v.CreatedAt!);
        var mode = File.GetUnixFileMode(v.Mountpoint);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, mode);

        // Labels given as an empty map stay {}; none stays null (dockerd keeps the difference).
        Assert.NotNull(store.Create("empty-labels", null, null, new Dictionary<string, string>()).Labels);
        Assert.Null(store.Create("no-labels", null, null, null).Labels);
    }

    [Fact]
    public void CreatingAnExistingVolumeAnswersItAndADifferentDriverIsAConflict()
    {
        var store = new VolumeStore(_dataRoot);
        var first = store.Create("data", "local", null, new Dictionary<string, string> { ["a"] = "1" });
        var again = store.Create("data", "", null, new Dictionary<string, string> { ["b"] = "2" });
        Assert.Equal(first.CreatedAt, again.CreatedAt);
        Assert.True(again.Labels!.ContainsKey("a"));
        Assert.False(again.Labels.ContainsKey("b"));

        store.Drivers.Register(new OtherDriver(VolumesDir));
        var e = Assert.Throws<BerthException>(() => store.Create("data", "other", null, null));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.Equal("create data: driver 'local' already has volume 'data': volume name must be unique", e.Message);

        var unknown = Assert.Throws<BerthException>(() => store.Create("x2", "nope", null, null));
        Assert.Equal(ErrorKind.NotFound, unknown.Kind);
        Assert.Equal("create x2: error looking up volume plugin nope: plugin \"nope\" not found", unknown.Message);
    }

    [Theory]
    [InlineData("/abs")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("_x")]
    [InlineData("-x")]
    [InlineData("with space")]
    public void InvalidNamesAreRefusedWithDockersMessage(string name)
    {
        var store = new VolumeStore(_dataRoot);
        var e = Assert.Throws<BerthException>(() => store.Create(name, null, null, null));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Equal($"create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
    }

    [Fact]
    public void TooShortAndTooLongNamesAreRefused()
    {
        var store = new VolumeStore(_dataRoot);
        var e = Assert.Throws<BerthException>(() => store.Create("a", null, null, null));
        Assert.Equal("create a: volume name is too short, names should be at least two alphanumeric characters", e.Message);
        var name = new string('a', 300);
        var e2 = Assert.Throws<BerthException>(() => store.Create(name, null, null, null));
        Assert.Equal(ErrorKind.InvalidParameter, e2.Kind);
        Assert.Contains("volume name is too long", e2.Message);
        Assert.Equal("a.b_c-1", store.Create("a.b_c-1", null, null, null).Name);
        Assert.Equal(new string('b', 255), store.Create(new string('b', 255), null, null, null).Name);
    }

    [Fact]
    public void LocalVolumeWithOptionsIsMountedWhileUsedAndRecoveredFromTheRunningContainers()
    {
        var store = new VolumeStore(_dataRoot);
        store.Create("tm", null, new Dictionary<string, string> { ["type"] = "tmpfs", ["device"] = "tmpfs", ["o"] = "size=1m" }, null);
        var data = Path.Combine(VolumesDir, "tm", "_data");
        try
        {
            Assert.False(Berth.Images.MountHelper.IsMounted(data));
            Assert.Equal(data, store.Mount("tm", "c1"));
            store.Mount("tm", "c2");
            Assert.True(Berth.Images.MountHelper.IsMounted(data));
            Assert.Equal(ErrorKind.Conflict, Assert.Throws<BerthException>(() => store.Remove("tm", force: false)).Kind);
            store.Unmount("tm", "c1");
            Assert.True(Berth.Images.MountHelper.IsMounted(data));
            store.Unmount("tm", "c2");
            Assert.False(Berth.Images.MountHelper.IsMounted(data));

            // A restarted store: a running user mounts it again (a reboot), and its exit unmounts it.
            var again = new VolumeStore(_dataRoot);
            again.RecoverMounts(name => name == "tm" ? ["c3"] : []);
            Assert.True(Berth.Images.MountHelper.IsMounted(data));
            again.Unmount("tm", "c3");
            Assert.False(Berth.Images.MountHelper.IsMounted(data));
            // Left mounted with no running user: unmounted.
            again.Mount("tm", "c4");
            var third = new VolumeStore(_dataRoot);
            third.RecoverMounts(_ => []);
            Assert.False(Berth.Images.MountHelper.IsMounted(data));
            third.Remove("tm", force: false);
            Assert.False(Directory.Exists(Path.Combine(VolumesDir, "tm")));
        }
        finally
        {
            while (Berth.Images.MountHelper.IsMounted(data)) Berth.Images.MountHelper.Unmount(data);
        }
    }

    [Fact]
    public void LocalDriverRefusesUnknownOptionKeysAsDockerd()
    {
        var store = new VolumeStore(_dataRoot);
        var e = Assert.Throws<BerthException>(() => store.Create("opts", null, new Dictionary<string, string> { ["type"] = "tmpfs", ["size"] = "1m" }, null));
        Assert.Equal(ErrorKind.InvalidParameter, e.Kind);
        Assert.Equal("create opts: invalid option key: \"size\"", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
    }

    [Fact]
    public void AnonymousVolumesHave64HexNames()
    {
        var store = new VolumeStore(_dataRoot);
        var v = store.Create(null, null, null, null);
        Assert.Matches("^[0-9a-f]{64}$", v.Name);
        Assert.True(store.Get(v.Name).Anonymous);
        var r = store.GetOrCreate(null, null, null, null, anonymous: true);
        Assert.Matches("^[0-9a-f]{64}$", r.Name);
        Assert.True(r.Anonymous);
        Assert.False(store.GetOrCreate("named", null, null, null, anonymous: false).Anonymous);
    }

    [Fact]
    public void MissingVolumesAreNotFoundAsDockerd()
    {
        var store = new VolumeStore(_dataRoot);
        var e = Assert.Throws<BerthException>(() => store.Inspect("nope"));
        Assert.Equal(ErrorKind.NotFound, e.Kind);
        Assert.Equal("get nope: no such volume", e.Message);
        Assert.Equal("get nope: no such volume", Assert.Throws<BerthException>(() => store.Remove("nope", false)).Message);
        store.Remove("nope", force: true); // force: a missing volume is not an error
        store.RemoveIfUnused("nope");
    }

    [Fact]
    public void AVolumeInUseIsNotRemovedEvenWithForce()
    {
        var store = new VolumeStore(_dataRoot);
        store.Create("data", null, null, null);
        store.ContainersUsing = name => name == "data" ? ["bbbb", "aaaa"] : [];
        var e = Assert.Throws<BerthException>(() => store.Remove("data", false));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.Equal("remove data: volume is in use - [aaaa, bbbb]", e.Message);
        Assert.Throws<BerthException>(() => store.Remove("data", true));
        store.RemoveIfUnused("data");
        Assert.Equal("data", store.Inspect("data").Name);

        store.ContainersUsing = _ => [];
        store.Remove("data", false);
        Assert.False(Directory.Exists(Path.Combine(VolumesDir, "data")));
    }

    [Fact]
    public void MountedVolumesAreInUseUntilUnmounted()
    {
        var store = new VolumeStore(_dataRoot);
        var events = new List<string>();
        store.Published = (action, name, attrs) => events.Add($"{action} {name} {string.Join(",", attrs.OrderBy(a => a.Key).Select(a => a.Key + "=" + a.Value))}");
        store.Create("data", null, null, null);
        var path = store.Mount("data", "c1");
        Assert.Equal(Path.Combine(VolumesDir, "data", "_data"), path);
        Assert.Equal("remove data: volume is in use - [c1]", Assert.Throws<BerthException>(() => store.Remove("data", false)).Message);
        Assert.Single(store.List(F("""{"dangling":{"false":true}}""")));
        Assert.Empty(store.List(F("""{"dangling":{"true":true}}""")));
        store.Unmount("data", "c1");
        store.Unmount("data", "c1"); // idempotent
        Assert.Single(store.List(F("""{"dangling":{"1":true}}""")));
        store.Remove("data", false);
        Assert.Equal(["create data driver=local", "mount data container=c1,driver=local", "unmount data container=c1,driver=local", "destroy data driver=local"], events);
        Assert.Equal("get data: no such volume", Assert.Throws<BerthException>(() => store.Mount("data", "c1")).Message);
    }

    [Fact]
    public void ListFiltersAsDockerd()
    {
        var store = new VolumeStore(_dataRoot);
        store.Create("web-data", null, null, new Dictionary<string, string> { ["app"] = "web", ["tier"] = "front" });
        store.Create("db-data", null, null, new Dictionary<string, string> { ["app"] = "db" });
        store.Create("plain", null, null, null);
        static string Names(IEnumerable<Api.Volumes.Volume> l) => string.Join(" ", l.Select(v => v.Name).Order(StringComparer.Ordinal));
        Assert.Equal("db-data plain web-data", Names(store.List(FilterArgs.Empty)));
        Assert.Equal("db-data web-data", Names(store.List(F("""{"label":{"app":true}}"""))));
        Assert.Equal("web-data", Names(store.List(F("""{"label":{"app=web":true}}"""))));
        Assert.Equal("web-data", Names(store.List(F("""{"label":{"app":true,"tier=front":true}}"""))));
        Assert.Equal("db-data web-data", Names(store.List(F("""{"name":{"data":true}}"""))));
        Assert.Equal("plain", Names(store.List(F("""{"name":{"^pl":true}}"""))));
        Assert.Equal("db-data plain web-data", Names(store.List(F("""{"driver":{"local":true}}"""))));
        Assert.Empty(store.List(F("""{"driver":{"other":true}}""")));
        var bad = Assert.Throws<BerthException>(() => store.List(F("""{"nope":{"x":true}}""")));
        Assert.Equal(ErrorKind.InvalidParameter, bad.Kind);
        Assert.Equal("invalid filter 'nope'", bad.Message);
        var dangling = Assert.Throws<BerthException>(() => store.List(F("""{"dangling":{"maybe":true}}""")));
        Assert.Equal("Invalid filter 'dangling=[maybe]'", dangling.Message);
    }

    [Fact]
    public void PruneRemovesUnusedLocalVolumesNamedAndAnonymousAndReportsTheSpace()
    {
        var store = new VolumeStore(_dataRoot);
        var anon = store.Create(null, null, null, new Dictionary<string, string> { ["keep"] = "no" }).Name;
        var named = store.Create("named", null, null, null);
        File.WriteAllBytes(Path.Combine(named.Mountpoint, "f"), new byte[1000]);
        Directory.CreateDirectory(Path.Combine(named.Mountpoint, "sub"));
        File.WriteAllBytes(Path.Combine(named.Mountpoint, "sub", "g"), new byte[24]);
        store.Create("used", null, null, null);
        store.Create("kept", null, null, new Dictionary<string, string> { ["keep"] = "yes" });
        store.ContainersUsing = n => n == "used" ? ["c1"] : [];

        var byLabel = store.Prune(F("""{"label!":{"keep=yes":true}}"""));
        Assert.Equal(new[] { anon, "named" }.Order(StringComparer.Ordinal), byLabel.VolumesDeleted!.Order(StringComparer.Ordinal));
        Assert.Equal(1024UL, byLabel.SpaceReclaimed);
        Assert.Equal("kept used", string.Join(" ", store.List(FilterArgs.Empty).Select(v => v.Name).Order(StringComparer.Ordinal)));

        var none = store.Prune(F("""{"label":{"nope":true}}"""));
        Assert.Null(none.VolumesDeleted);
        Assert.Equal(0UL, none.SpaceReclaimed);
        Assert.Equal(["kept"], store.Prune(FilterArgs.Empty).VolumesDeleted!);
        Assert.Equal("invalid filter 'dangling'", Assert.Throws<BerthException>(() => store.Prune(F("""{"dangling":{"true":true}}"""))).Message);
    }

    [Fact]
    public void RemoveDoesNotFollowSymbolicLinksOutOfTheVolume()
    {
        var outside = Directory.CreateTempSubdirectory("berth-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "precious"), "keep me");
            var store = new VolumeStore(_dataRoot);
            var v = store.Create("links", null, null, null);
            Directory.CreateSymbolicLink(Path.Combine(v.Mountpoint, "dir-link"), outside);
            File.CreateSymbolicLink(Path.Combine(v.Mountpoint, "file-link"), Path.Combine(outside, "precious"));
            Assert.Equal(0UL, store.Prune(FilterArgs.Empty).SpaceReclaimed);
            store.WaitForBackgroundIo(); // removed volumes' data goes after the answer
            Assert.Equal("keep me", File.ReadAllText(Path.Combine(outside, "precious")));
            Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void VolumesSurviveARestartOfTheStore()
    {
        var store = new VolumeStore(_dataRoot);
        var created = store.Create("data", null, null, new Dictionary<string, string> { ["a"] = "1" });
        var anon = store.GetOrCreate(null, null, null, null, anonymous: true).Name;
        var reopened = new VolumeStore(_dataRoot);
        var again = reopened.Inspect("data");
        Assert.Equal(created.CreatedAt, again.CreatedAt);
        Assert.Equal("1", again.Labels!["a"]);
        Assert.Null(again.Options);
        Assert.True(reopened.Get(anon).Anonymous);
    }

    [Fact]
    public void StartUpDeletesWhatACrashLeftAndIgnoresDirectoriesWithoutMetadata()
    {
        Directory.CreateDirectory(VolumesDir);
        // A create cut short (temporary directory), a remove cut short (trash), a stray directory, a broken volume.json.
        Directory.CreateDirectory(Path.Combine(VolumesDir, ".tmp-half-0011aabbccdd", "_data"));
        File.WriteAllText(Path.Combine(VolumesDir, ".tmp-half-0011aabbccdd", "volume.json"), "{\"Name\":\"half\"}");
        Directory.CreateDirectory(Path.Combine(VolumesDir, ".trash-gone-0011aabbccdd", "_data", "deep"));
        File.WriteAllText(Path.Combine(VolumesDir, ".trash-gone-0011aabbccdd", "_data", "deep", "f"), "x");
        // Not volumes and not empty: someone's data, left alone.
        Directory.CreateDirectory(Path.Combine(VolumesDir, "stray", "_data"));
        File.WriteAllText(Path.Combine(VolumesDir, "stray", "_data", "precious"), "x");
        Directory.CreateDirectory(Path.Combine(VolumesDir, "broken", "_data"));
        File.WriteAllText(Path.Combine(VolumesDir, "broken", "volume.json"), "{not json");
        File.WriteAllText(Path.Combine(VolumesDir, "broken", "notes.txt"), "x");

        var store = new VolumeStore(_dataRoot);
        Assert.Empty(store.List(FilterArgs.Empty));
        Assert.Equal(["broken", "stray"], Directory.EnumerateDirectories(VolumesDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(ErrorKind.Conflict, Assert.Throws<BerthException>(() => store.Create("stray", null, null, null)).Kind);
        Assert.Equal("get half: no such volume", Assert.Throws<BerthException>(() => store.Inspect("half")).Message);
    }

    [Fact]
    public void StartUpDeletesHalfVolumesWhoseVolumeJsonIsMissingEmptyOrInvalid()
    {
        // What a power cut can leave of creates answered before their fsyncs (the rename on disk, the file not).
        var store = new VolumeStore(_dataRoot);
        store.Create("whole", null, null, null);
        store.Create("plugin-like", null, null, null);
        store.WaitForBackgroundIo();
        Directory.Delete(Path.Combine(VolumesDir, "plugin-like", "_data")); // a plugin's volume has no _data
        File.WriteAllText(Path.Combine(VolumesDir, "plugin-like", "volume.json"), "");
        foreach (var (name, json) in new[] { ("empty", ""), ("invalid", "{\"Name\":\"inva"), ("other-name", "{\"Name\":\"whole\"}"), ("nojson", null) })
        {
            Directory.CreateDirectory(Path.Combine(VolumesDir, name, "_data"));
            if (json is not null) File.WriteAllText(Path.Combine(VolumesDir, name, "volume.json"), json);
        }

        var reopened = new VolumeStore(_dataRoot);
        Assert.Equal(["whole"], reopened.List(FilterArgs.Empty).Select(v => v.Name));
        Assert.Equal(["whole"], Directory.EnumerateFileSystemEntries(VolumesDir).Select(Path.GetFileName));
        // The names are free again.
        reopened.Create("empty", null, null, null);
        Assert.True(File.Exists(Path.Combine(VolumesDir, "empty", "volume.json")));
    }

    [Fact]
    public void ACreatedVolumesMetadataIsFsyncedAfterTheAnswerAndSurvivesARemoveMeanwhile()
    {
        var store = new VolumeStore(_dataRoot);
        for (int i = 0; i < 50; i++)
        {
            store.Create($"v{i}", null, null, null);
            if (i % 2 == 0) store.Remove($"v{i}", false); // removed before the background pass: nothing to fsync
        }
        store.WaitForBackgroundIo();
        Assert.Equal(25, store.List(FilterArgs.Empty).Count);
        Assert.Equal(25, new VolumeStore(_dataRoot).List(FilterArgs.Empty).Count);
        Assert.Equal(25, Directory.EnumerateFileSystemEntries(VolumesDir).Count());
    }

    [Fact]
    public void CopyUpIsMarkedWhileItRunsAndAHalfCopyIsEmptiedAtStartUp()
    {
        var image = Directory.CreateTempSubdirectory("berth-copyup-src-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(image, "sub"));
            File.WriteAllText(Path.Combine(image, "sub", "f"), "from the image\n");
            var store = new VolumeStore(_dataRoot);
            var v = store.GetOrCreate("filled", null, null, null, anonymous: false);
            Assert.True(store.CopyUp("filled", "c1", image));
            Assert.Equal("from the image\n", File.ReadAllText(Path.Combine(v.Mountpoint, "sub", "f")));
            Assert.False(store.CopyUpPending("filled"));
            Assert.False(File.Exists(Path.Combine(VolumesDir, "filled", "copy-up.pending")));
            Assert.False(store.CopyUp("filled", "c2", image)); // not empty: never copied into again
            Assert.Empty(store.Users("filled"));

            // A crash during a copy-up: the marker and half of the content are there.
            var half = store.GetOrCreate("half", null, null, null, anonymous: false);
            Directory.CreateDirectory(Path.Combine(half.Mountpoint, "sub"));
            File.WriteAllText(Path.Combine(half.Mountpoint, "sub", "f"), "from the im");
            File.WriteAllText(Path.Combine(VolumesDir, "half", "copy-up.pending"), "c3\n");
            Assert.True(store.CopyUpPending("half"));

            var restarted = new VolumeStore(_dataRoot);
            Assert.False(restarted.CopyUpPending("half"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(half.Mountpoint));
            Assert.Equal("from the image\n", File.ReadAllText(Path.Combine(v.Mountpoint, "sub", "f"))); // whole volumes untouched
            Assert.True(restarted.CopyUp("half", "c4", image));
            Assert.Equal("from the image\n", File.ReadAllText(Path.Combine(half.Mountpoint, "sub", "f")));

            // A marked volume met by a copy-up (a volume the store could not empty at start-up): emptied, copied again.
            File.WriteAllText(Path.Combine(half.Mountpoint, "stray"), "half");
            File.WriteAllText(Path.Combine(VolumesDir, "half", "copy-up.pending"), "c5\n");
            Assert.True(restarted.CopyUp("half", "c6", image));
            Assert.Equal(["sub"], Directory.EnumerateFileSystemEntries(half.Mountpoint).Select(Path.GetFileName));
            Assert.False(restarted.CopyUpPending("half"));
        }
        finally
        {
            Directory.Delete(image, recursive: true);
        }
    }

    [Fact]
    public void ConcurrentCreatesAndRemovesOfOneNameNeverLeaveAHalfVolume()
    {
        var store = new VolumeStore(_dataRoot);
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var name = "same-" + (i % 4);
            if (i % 2 == 0) store.Create(name, null, null, null);
            else
            {
                try { store.Remove(name, false); }
                catch (BerthException e) when (e.Kind == ErrorKind.NotFound) { }
            }
        });
        var listed = store.List(FilterArgs.Empty).Select(v => v.Name).Order(StringComparer.Ordinal).ToList();
        store.WaitForBackgroundIo(); // removed volumes' data goes after the answer
        Assert.Equal(listed, Directory.EnumerateDirectories(VolumesDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var n in listed) Assert.True(File.Exists(Path.Combine(VolumesDir, n, "volume.json")));
        Assert.Equal(listed, new VolumeStore(_dataRoot).List(FilterArgs.Empty).Select(v => v.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AThousandVolumesCreatedAndRemovedLeaveNothingBehind()
    {
        var store = new VolumeStore(_dataRoot);
        var names = new List<string>();
        for (int i = 0; i < 500; i++) names.Add(store.Create($"vol-{i}", null, null, null).Name);
        for (int i = 0; i < 500; i++) names.Add(store.Create(null, null, null, null).Name);
        Assert.Equal(1000, store.List(FilterArgs.Empty).Count);
        Assert.Equal(1000, Directory.EnumerateDirectories(VolumesDir).Count());
        Parallel.ForEach(names, new ParallelOptions { MaxDegreeOfParallelism = 4 }, n => store.Remove(n, false));
        Assert.Empty(store.List(FilterArgs.Empty));
        store.WaitForBackgroundIo(); // removed volumes' data goes after the answer
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
        Assert.Empty(new VolumeStore(_dataRoot).List(FilterArgs.Empty));
    }

    [Fact]
    public void ConcurrentCreatesOfOneNameMakeOneVolume()
    {
        var store = new VolumeStore(_dataRoot);
        var created = new System.Collections.Concurrent.ConcurrentBag<string?>();
        Parallel.For(0, 16, _ => created.Add(store.Create("same", null, null, null).CreatedAt));
        Assert.Single(created.Distinct());
        Assert.Single(Directory.EnumerateDirectories(VolumesDir));
    }

    [Fact]
    public void AForcedRemovePurgesAVolumeWhoseDriverFailsAndAnUnforcedOneKeepsIt()
    {
        var store = new VolumeStore(_dataRoot);
        var failing = new OtherDriver(VolumesDir) { FailRemove = true };
        store.Drivers.Register(failing);
        store.Create("plug", "other", null, null);
        var e = Assert.Throws<BerthException>(() => store.Remove("plug", false));
        Assert.Equal("remove plug: error while removing volume: the plugin said no", e.Message);
        Assert.Equal("other", store.Inspect("plug").Driver);
        Assert.True(File.Exists(Path.Combine(VolumesDir, "plug", "volume.json")));
        store.Remove("plug", true);
        Assert.Empty(store.List(FilterArgs.Empty));
        store.WaitForBackgroundIo(); // removed volumes' data goes after the answer
        Assert.Empty(Directory.EnumerateFileSystemEntries(VolumesDir));
    }

    [Fact]
    public void VolumesOfAnotherDriverAreNotPrunedAndKeepTheirOptions()
    {
        var store = new VolumeStore(_dataRoot);
        store.Drivers.Register(new OtherDriver(VolumesDir));
        var v = store.Create("plug", "other", new Dictionary<string, string> { ["size"] = "1g" }, null);
        Assert.Equal("1g", v.Options!["size"]);
        Assert.Equal("global", v.Scope);
        Assert.Equal("/plugin/plug", v.Mountpoint);
        Assert.Null(store.Prune(FilterArgs.Empty).VolumesDeleted);
        Assert.Equal("plug", Assert.Single(store.List(F("""{"driver":{"other":true}}"""))).Name);
        Assert.Equal("/plugin/plug", store.Mount("plug", "c9"));
        // -v plug:/x names no driver: the existing volume is taken, whatever its driver; naming local is a conflict.
        Assert.Equal("other", store.GetOrCreate("plug", null, null, null, anonymous: false).Driver);
        Assert.Equal(ErrorKind.Conflict, Assert.Throws<BerthException>(() => store.GetOrCreate("plug", "local", null, null, anonymous: false)).Kind);
    }

    [Fact]
    public void Rfc3339IsGosFormat() =>
        Assert.Matches(@"^2026-11-22T\d\d:\d\d:53(Z|[+-]\d\d:\d\d)$", VolumeStore.Rfc3339(new DateTime(2026, 11, 22, 5, 52, 53, 123, DateTimeKind.Utc)));

    /// <summary>A driver that is not local (as a plugin would be): keeps nothing on disk, says where it mounts.</summary>
    private sealed class OtherDriver(string root) : IVolumeDriver
    {
        public bool FailRemove { get; init; }
        public string Name => "other";
        public string Scope => "global";
        public void Create(string name, string volumeDir, IReadOnlyDictionary<string, string> options) { }
        public void Remove(string name, string volumeDir)
        {
            if (FailRemove) throw new BerthException(ErrorKind.System, "the plugin said no");
        }
        public string Mount(string name, string volumeDir, string containerId) => "/plugin/" + name;
        public void Unmount(string name, string volumeDir, string containerId) { }
        public string Path(string name, string volumeDir) => "/plugin/" + name;
        public DriverVolume? Get(string name, string volumeDir) => new(name, "/plugin/" + name);
        public IReadOnlyList<DriverVolume> List() => [];
        public override string ToString() => root;
    }
}
